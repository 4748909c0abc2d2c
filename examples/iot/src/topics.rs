//! MQTT-style topics and patterns: `sensors/1/temperature`, and patterns
//! where `+` is one level and `#` (last) is that level and every one below
//! it, the parent included (`sensors/#` matches `sensors`). Levels may be
//! empty (`sensors//temperature` has three).

use std::fmt;

/// Why a topic or pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    /// The empty string.
    Empty,
    /// More than [`MAX_LEN`] bytes.
    TooLong,
    /// A topic to publish to holds `+` or `#`.
    WildcardInTopic,
    /// `+` or `#` shares a level with other characters (`sensor+`).
    PartialWildcard,
    /// `#` is not the last level.
    HashNotLast,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::Empty => "a topic has at least one character",
            TopicError::TooLong => "a topic has at most 256 bytes",
            TopicError::WildcardInTopic => "a topic to publish to has no + or #",
            TopicError::PartialWildcard => "+ and # stand alone in their level",
            TopicError::HashNotLast => "# is only allowed as the last level",
        })
    }
}

/// The longest topic or pattern, in bytes.
pub const MAX_LEN: usize = 256;

fn common(text: &str) -> Result<(), TopicError> {
    if text.is_empty() {
        return Err(TopicError::Empty);
    }
    if text.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    Ok(())
}

/// Checks a topic to publish to.
pub fn check_topic(topic: &str) -> Result<(), TopicError> {
    common(topic)?;
    if topic.contains(['+', '#']) {
        return Err(TopicError::WildcardInTopic);
    }
    Ok(())
}

/// Checks a subscription or grant pattern.
pub fn check_pattern(pattern: &str) -> Result<(), TopicError> {
    common(pattern)?;
    let levels: Vec<&str> = pattern.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.len() > 1 && level.contains(['+', '#']) {
            return Err(TopicError::PartialWildcard);
        }
        if *level == "#" && i + 1 != levels.len() {
            return Err(TopicError::HashNotLast);
        }
    }
    Ok(())
}

/// Whether `topic` matches `pattern` (both checked).
pub fn matches(pattern: &str, topic: &str) -> bool {
    let mut topic = topic.split('/');
    for level in pattern.split('/') {
        match level {
            "#" => return true,
            "+" => {
                if topic.next().is_none() {
                    return false;
                }
            }
            literal => {
                if topic.next() != Some(literal) {
                    return false;
                }
            }
        }
    }
    topic.next().is_none()
}

/// Whether every topic that `pattern` matches, `grant` matches too: a
/// subscription to `pattern` stays inside the grant.
pub fn covers(grant: &str, pattern: &str) -> bool {
    let grant: Vec<&str> = grant.split('/').collect();
    let pattern: Vec<&str> = pattern.split('/').collect();
    for (i, level) in pattern.iter().enumerate() {
        match grant.get(i) {
            Some(&"#") => return true,
            // The grant ends where the pattern goes on.
            None => return false,
            Some(&"+") => {
                // `+` holds one level; `#` here matches zero or many.
                if *level == "#" {
                    return false;
                }
            }
            Some(literal) => {
                if level != literal {
                    return false;
                }
            }
        }
    }
    // The pattern ended: the grant must not ask for more levels, except a
    // final `#`, which matches its parent.
    match &grant[pattern.len()..] {
        [] => true,
        [rest] => *rest == "#",
        _ => false,
    }
}

/// The broker group that publications to `topic` go to, and that a
/// subscription to `pattern` joins: one group per first level, so that a
/// publication wakes only the connections that may want it, and `*` for
/// patterns whose first level is a wildcard.
pub fn group_of_topic(topic: &str) -> String {
    format!("topics/{}", topic.split('/').next().unwrap_or_default())
}

/// See [`group_of_topic`].
pub fn group_of_pattern(pattern: &str) -> String {
    match pattern.split('/').next().unwrap_or_default() {
        "+" | "#" => WILDCARD_GROUP.to_owned(),
        first => format!("topics/{first}"),
    }
}

/// The group of patterns that start with a wildcard.
pub const WILDCARD_GROUP: &str = "topics/*";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_mqtt() {
        let yes = [
            ("sensors/+/temperature", "sensors/1/temperature"),
            ("sensors/#", "sensors/1/temperature"),
            // `#` matches its parent level too.
            ("sensors/#", "sensors"),
            ("#", "sensors"),
            ("#", "a/b/c"),
            ("+", "sensors"),
            ("sensors/+", "sensors/1"),
            // An empty level is a level: `+` matches it.
            ("sensors/+/temperature", "sensors//temperature"),
            ("sensors/+", "sensors/"),
            ("+/+", "/x"),
            ("sensors//temperature", "sensors//temperature"),
        ];
        for (pattern, topic) in yes {
            assert!(matches(pattern, topic), "{pattern} should match {topic}");
        }
        let no = [
            ("sensors/+", "sensors"),
            ("sensors/+", "sensors/1/temperature"),
            ("sensors/+/temperature", "sensors/1/humidity"),
            ("sensors", "sensors/1"),
            ("sensors/1", "sensors"),
            ("sensors/#", "sensorsX"),
            ("sensors/#", "other/sensors"),
            ("+", "a/b"),
            ("sensors//temperature", "sensors/temperature"),
        ];
        for (pattern, topic) in no {
            assert!(
                !matches(pattern, topic),
                "{pattern} should not match {topic}"
            );
        }
    }

    #[test]
    fn a_grant_covers_the_patterns_inside_it() {
        let yes = [
            ("sensors/#", "sensors/#"),
            ("sensors/#", "sensors/+/temperature"),
            ("sensors/#", "sensors/1/#"),
            ("sensors/#", "sensors"),
            ("sensors/#", "sensors/1"),
            ("#", "+/#"),
            ("+/temperature", "sensors/temperature"),
            ("sensors/+/temperature", "sensors/1/temperature"),
            ("sensors/+/temperature", "sensors/+/temperature"),
            ("sensors/+/#", "sensors/1/#"),
            ("sensors/+/#", "sensors/+"),
        ];
        for (grant, pattern) in yes {
            assert!(covers(grant, pattern), "{grant} should cover {pattern}");
        }
        let no = [
            // `+` is one level; `#` is any number, none included.
            ("sensors/+", "sensors/#"),
            ("sensors/+/temperature", "sensors/#"),
            ("sensors/+/#", "sensors/#"),
            ("sensors/1/#", "sensors/+/temperature"),
            ("sensors/1", "sensors"),
            ("sensors", "sensors/1"),
            ("sensors/+", "sensors"),
            ("sensors/+/temperature", "sensors/1/humidity"),
            ("+/temperature", "#"),
        ];
        for (grant, pattern) in no {
            assert!(
                !covers(grant, pattern),
                "{grant} should not cover {pattern}"
            );
        }
    }

    #[test]
    fn bad_topics_and_patterns_are_named() {
        assert_eq!(check_pattern(""), Err(TopicError::Empty));
        assert_eq!(check_pattern("sensors/#/x"), Err(TopicError::HashNotLast));
        assert_eq!(
            check_pattern("sensors/te+"),
            Err(TopicError::PartialWildcard)
        );
        assert_eq!(
            check_pattern("sensors/#x"),
            Err(TopicError::PartialWildcard)
        );
        assert_eq!(
            check_pattern(&"a".repeat(MAX_LEN + 1)),
            Err(TopicError::TooLong)
        );
        assert_eq!(check_pattern("sensors//+"), Ok(()));
        assert_eq!(check_pattern("/"), Ok(()));
        assert_eq!(check_topic("sensors/+"), Err(TopicError::WildcardInTopic));
        assert_eq!(check_topic("sensors/1/temperature"), Ok(()));
        assert_eq!(check_topic("sensors//"), Ok(()));
    }

    #[test]
    fn groups_split_by_first_level() {
        assert_eq!(group_of_topic("sensors/1/t"), "topics/sensors");
        assert_eq!(group_of_pattern("sensors/+/t"), "topics/sensors");
        assert_eq!(group_of_pattern("+/t"), WILDCARD_GROUP);
        assert_eq!(group_of_pattern("#"), WILDCARD_GROUP);
        assert_eq!(group_of_topic("/x"), "topics/");
        assert_eq!(group_of_pattern("/x"), "topics/");
    }
}
