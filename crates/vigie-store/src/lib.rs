//! Vigie storage: the SQLite schema, numbered migrations, batched writes of tracks and their boxes.
