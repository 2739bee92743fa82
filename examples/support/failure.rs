//! Shared by the file examples (`febrl`, `resolve_csv`): an error type for `main` that prints
//! the message and its causes instead of the `Debug` form.

/// An error that `main` prints with its message and causes rather than its `Debug` form.
pub struct Failure(Box<dyn std::error::Error>);

impl<E: Into<Box<dyn std::error::Error>>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.into())
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !text.contains(&c_text) {
                text.push_str(&format!("\n  caused by: {c_text}"));
            }
            cause = c.source();
        }
        f.write_str(&text)
    }
}
