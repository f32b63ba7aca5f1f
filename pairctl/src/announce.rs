//! Finding a child's announce line (`LISTENING 127.0.0.1:PORT`) in what it
//! prints on stdout.
//!
//! A child asked for port 0, so this line is the only way to learn where it
//! listens. Anything else on stdout (a stray print, a partial line without
//! its newline) is skipped rather than taken for an address.

use std::net::SocketAddr;

use node_kit::server::ANNOUNCE_PREFIX;

/// The address announced on `line`, if it carries one. The prefix may be
/// preceded by garbage (a previous print without a newline); the last
/// occurrence on the line wins.
pub fn parse_announce(line: &str) -> Option<SocketAddr> {
    let at = line.rfind(ANNOUNCE_PREFIX)?;
    let rest = &line[at + ANNOUNCE_PREFIX.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// The first announced address among `lines`.
pub fn find_announce<'a, I>(lines: I) -> Option<SocketAddr>
where
    I: IntoIterator<Item = &'a str>,
{
    lines.into_iter().find_map(parse_announce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_announce_line() {
        let addr = parse_announce("LISTENING 127.0.0.1:50123").unwrap();
        assert_eq!(addr, "127.0.0.1:50123".parse().unwrap());
        assert_eq!(
            parse_announce("LISTENING 127.0.0.1:7\r\n"),
            Some("127.0.0.1:7".parse().unwrap())
        );
    }

    #[test]
    fn skips_garbage_lines_before_the_announce() {
        let out = "Compiling...\n\nwarning: LISTENING soon\nLISTENING [::1]:4000\nLISTENING 127.0.0.1:1\n";
        assert_eq!(
            find_announce(out.lines()),
            Some("[::1]:4000".parse().unwrap())
        );
    }

    #[test]
    fn accepts_garbage_before_the_prefix_on_the_same_line() {
        assert_eq!(
            parse_announce("progress 50%LISTENING 127.0.0.1:9 extra"),
            Some("127.0.0.1:9".parse().unwrap())
        );
    }

    #[test]
    fn refuses_lines_without_an_address() {
        for line in [
            "",
            "LISTENING",
            "LISTENING ",
            "LISTENING localhost:80",
            "LISTENING 127.0.0.1",
            "listening 127.0.0.1:80",
            "LISTENING 127.0.0.1:99999",
        ] {
            assert_eq!(parse_announce(line), None, "{line:?}");
        }
        assert_eq!(find_announce(["a", "b"]), None);
    }
}
