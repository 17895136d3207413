//! The quorum summary shared by `cluster status`, `cluster health` and the dashboard: how
//! many voters answer, and whether that majority has a leader. Pure: the callers poll.

/// What the callers saw of the voters in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    /// Voters in the membership.
    pub voters: usize,
    /// Voters that answered.
    pub up: usize,
    /// Whether some member is in touch with a leader (answered as leader, or `/health` 200).
    pub leader: bool,
}

impl Quorum {
    /// Voters needed for a majority.
    pub fn needed(&self) -> usize {
        self.voters / 2 + 1
    }

    /// Whether a majority of voters is up and they have a leader: the cluster takes writes.
    pub fn ok(&self) -> bool {
        self.voters > 0 && self.up >= self.needed() && self.leader
    }
}

impl std::fmt::Display for Quorum {
    /// `2/3 voters up, quorum OK`; `1/3 voters up, no quorum (needs 2)`;
    /// `3/3 voters up, no leader` (a majority answers but has not elected one yet).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} voters up, ", self.up, self.voters)?;
        if self.ok() {
            write!(f, "quorum OK")
        } else if self.up < self.needed() {
            write!(f, "no quorum (needs {})", self.needed())
        } else {
            write!(f, "no leader")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Quorum;

    #[test]
    fn the_quorum_line_says_how_many_voters_answer_and_whether_that_is_enough() {
        let q = |up, leader| Quorum { voters: 3, up, leader }.to_string();
        assert_eq!(q(3, true), "3/3 voters up, quorum OK");
        assert_eq!(q(2, true), "2/3 voters up, quorum OK");
        assert_eq!(q(1, false), "1/3 voters up, no quorum (needs 2)");
        assert_eq!(q(2, false), "2/3 voters up, no leader");
        assert!(!Quorum {
            voters: 0,
            up: 0,
            leader: false
        }
        .ok());
    }
}
