//! Configuration input: the [`Env`] view of the environment that every runtime, builder and
//! adapter reads its variables through, once at start-up, so tests can pass a map instead of
//! the process environment.

/// A view of the environment; tests pass a map instead of the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (an empty value counts as unset).
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// A variable that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Reads `name` and parses it, or returns `default` when unset.
pub fn parse_var<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env.var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError {
            var: name,
            reason: format!("{v:?}: {e}"),
        }),
    }
}

/// Reads a variable that must be set.
pub fn required_var(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    env.var(name).ok_or(ConfigError {
        var: name,
        reason: "required".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_answer_their_pairs() {
        let env = [("A", "1"), ("B", "")];
        assert_eq!(env.var("A").as_deref(), Some("1"));
        assert_eq!(env.var("B").as_deref(), Some(""));
        assert_eq!(env.var("C"), None);
    }
}
