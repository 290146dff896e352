//! Reading JSON so that an error names the field at fault (the body, an
//! event file, a configuration): serde with `serde_path_to_error`.

use serde::Deserialize;

use crate::error::FieldError;

/// Deserialize JSON, reporting the path of the first field that does not fit.
pub(crate) fn from_json<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return FieldError::new("body", "empty: expected a JSON document");
        }
        // serde_path_to_error writes `?` for a segment it could not name
        // (a key the target ignores): the path ends before it.
        let path = err.path().to_string();
        let path = path
            .split('.')
            .take_while(|segment| *segment != "?")
            .collect::<Vec<_>>()
            .join(".");
        let path = path.trim_end_matches('.').to_owned();
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        FieldError::new(field, err.into_inner().to_string())
    })
}
