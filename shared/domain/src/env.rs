//! A view of the environment, so configuration can be read from a map in tests instead of
//! the process environment. It lives in the domain because both the pipeline's settings and
//! the AWS adapters' wiring read configuration, and the adapters cannot depend on the
//! pipeline.

/// Where configuration comes from: the process environment, or a map in tests.
pub trait Env {
    /// The variable's value; `None` when unset (or empty, for the process environment).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
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
