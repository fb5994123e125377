//! Copies of a store: a site copied to staging keeps the plugin's install id and token and goes
//! on sending from its new URL. Each request that names its URL is placed by [`Origin`]: the
//! paired store, a copy nobody has looked at yet (quarantined: kept apart, touching no tags or
//! subscribers), one a person allowed, or one told to pair as a store of its own.

use std::collections::HashMap;

use super::CloneDecision;
use crate::values::StoreUrl;

/// Where a request comes from, by the URL it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The paired URL, an allowed one, or no URL at all (a plugin that does not say): what it
    /// sends counts.
    Store,
    /// A copy: kept apart until someone decides. `new` when it was never seen before, so that
    /// its detection is recorded.
    Quarantined { seen_url: StoreUrl, new: bool },
    /// A copy told to pair as a store of its own: refused with `pair_again`.
    PairAgain { seen_url: StoreUrl },
}

/// The URLs a store paired with and the copies seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clones {
    /// The store URL of the last pairing (normalised as pairing normalises it).
    pub paired_url: Option<StoreUrl>,
    /// Every other URL seen, with what was decided of it (`None`: nothing yet).
    pub seen: HashMap<StoreUrl, Option<CloneDecision>>,
}

impl Clones {
    pub fn origin(&self, url: Option<&StoreUrl>) -> Origin {
        let (Some(url), Some(paired)) = (url, &self.paired_url) else {
            return Origin::Store;
        };
        if url == paired {
            return Origin::Store;
        }
        match self.seen.get(url) {
            Some(Some(CloneDecision::Allow)) => Origin::Store,
            Some(Some(CloneDecision::PairAsNew)) => Origin::PairAgain {
                seen_url: url.clone(),
            },
            Some(None) => Origin::Quarantined {
                seen_url: url.clone(),
                new: false,
            },
            None => Origin::Quarantined {
                seen_url: url.clone(),
                new: true,
            },
        }
    }

    /// The copies nobody has decided about yet.
    pub fn undecided(&self) -> impl Iterator<Item = &StoreUrl> {
        self.seen
            .iter()
            .filter(|(_, decision)| decision.is_none())
            .map(|(url, _)| url)
    }
}
