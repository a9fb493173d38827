-- Issue 20: a JetStream message carries several events since this version, so an event's key
-- is no longer its message's stream sequence but `seq * 65536 + its position in the message`
-- (`hygie_core::alert::event_key`). The keys and floors written before were sequences of
-- one-event messages, position 0: they become `seq * 65536`, so that a message delivered again
-- after the upgrade still finds its keys. Negated first: a key multiplied in place could meet
-- another row's key not multiplied yet (the primary key is checked row by row).
UPDATE alert_events SET seq = -seq;
UPDATE alert_events SET seq = -seq * 65536;
UPDATE alert_event_floors SET below = below * 65536;
