// Hygie's passkey ceremonies (WebAuthn), the only script of the web application. Served by Hygie
// itself (CSP script-src 'self'); see hygie-web's `passkey` module. The form marked
// `data-passkey` ("create" or "get") carries the server's options in `data-options`; a click on
// its button asks the browser, and the answer is posted in the form's `credential` field with
// its CSRF token. Nothing else is read or sent.
"use strict";
(function () {
  function bytes(b64url) {
    var s = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var raw = atob(s);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function text(buf) {
    if (!buf) return null;
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) {
      var d = Object.assign({}, c);
      d.id = bytes(c.id);
      return d;
    });
  }
  function start(form) {
    var prompt = form.getAttribute("data-passkey");
    var pk = JSON.parse(form.getAttribute("data-options")).publicKey;
    var error = document.getElementById("passkey-error");
    pk.challenge = bytes(pk.challenge);
    var ask;
    if (prompt === "create") {
      pk.user.id = bytes(pk.user.id);
      pk.excludeCredentials = ids(pk.excludeCredentials);
      ask = navigator.credentials.create({ publicKey: pk });
    } else {
      pk.allowCredentials = ids(pk.allowCredentials);
      ask = navigator.credentials.get({ publicKey: pk });
    }
    ask.then(function (cred) {
      var r = cred.response, answer = {
        id: cred.id, rawId: text(cred.rawId), type: cred.type,
        extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
      };
      if (prompt === "create") {
        answer.response = {
          attestationObject: text(r.attestationObject),
          clientDataJSON: text(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : undefined
        };
      } else {
        answer.response = {
          authenticatorData: text(r.authenticatorData),
          clientDataJSON: text(r.clientDataJSON),
          signature: text(r.signature),
          userHandle: text(r.userHandle)
        };
      }
      form.elements.credential.value = JSON.stringify(answer);
      form.submit();
    }).catch(function () {
      if (error) error.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-passkey]");
    if (!form) return;
    var button = document.getElementById("passkey-start");
    if (!window.PublicKeyCredential) {
      var none = document.getElementById("passkey-unsupported");
      if (none) none.hidden = false;
      if (button) button.disabled = true;
      return;
    }
    button.addEventListener("click", function () { start(form); });
  });
})();
