//! `hygie checks`: the registry of every automated rule (`hygie_checks`).

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ChecksCmd {
    /// Every rule of every audit: id, source, severity, title and the measures it verifies.
    List {
        /// Only the rules of this source (ad, passwords, governance, risk, or a collector).
        #[arg(long)]
        source: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: ChecksCmd) -> anyhow::Result<u8> {
    match cmd {
        ChecksCmd::List { source } => {
            let rules: Vec<_> = hygie_checks::rules()
                .into_iter()
                .filter(|r| source.as_deref().is_none_or(|s| r.source == s))
                .collect();
            if rules.is_empty()
                && let Some(s) = &source
            {
                let known = hygie_checks::sources().join(", ");
                return Err(exit::invalid(format!(
                    "--source {s}: no rule has this source (known: {known}) / aucune règle de cette source (connues : {known})"
                )));
            }
            match ctx.format {
                Format::Json => output::json(&rules)?,
                Format::Table => {
                    let fr = ctx.lang == hygie_core::Lang::Fr;
                    let head = if fr {
                        ["RÈGLE", "SOURCE", "GRAVITÉ", "MESURES", "TITRE"]
                    } else {
                        ["RULE", "SOURCE", "SEVERITY", "MEASURES", "TITLE"]
                    };
                    let rows: Vec<[String; 5]> = rules
                        .iter()
                        .map(|r| {
                            [
                                r.id.to_owned(),
                                r.source.to_owned(),
                                r.severity.as_str().to_owned(),
                                r.measures.join(","),
                                r.title.get(ctx.lang).to_owned(),
                            ]
                        })
                        .collect();
                    let width = |i: usize| {
                        rows.iter()
                            .map(|r| r[i].chars().count())
                            .chain([head[i].chars().count()])
                            .max()
                            .unwrap_or(0)
                    };
                    let w: Vec<usize> = (0..4).map(width).collect();
                    let mut text = String::new();
                    for row in std::iter::once(head.map(String::from)).chain(rows) {
                        text.push_str(&format!(
                            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}\n",
                            row[0],
                            row[1],
                            row[2],
                            row[3],
                            row[4],
                            w0 = w[0],
                            w1 = w[1],
                            w2 = w[2],
                            w3 = w[3]
                        ));
                    }
                    output::emit(&text, None)?;
                }
                f => return Err(output::unsupported(f, "table or json")),
            }
            Ok(exit::OK)
        }
    }
}
