//! The stored name of every read model: its checkpoint key, its row in the projector's state and
//! what `rebuild NAME` takes. One enum, so that a misspelt name does not compile; never rename
//! a stored name (a rename orphans the checkpoint and rebuilds from zero).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadModel {
    StreamCounts,
    Pairings,
    Installations,
    ConnectionHealth,
    SubscriberTags,
    Subscribers,
    Orders,
    Catalog,
    SyncStatus,
}

impl ReadModel {
    pub const ALL: [ReadModel; 9] = [
        Self::StreamCounts,
        Self::Pairings,
        Self::Installations,
        Self::ConnectionHealth,
        Self::SubscriberTags,
        Self::Subscribers,
        Self::Orders,
        Self::Catalog,
        Self::SyncStatus,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::StreamCounts => "stream_counts",
            Self::Pairings => "pairings",
            Self::Installations => "installations",
            Self::ConnectionHealth => "connection_health",
            Self::SubscriberTags => "subscriber_tags",
            Self::Subscribers => "subscribers",
            Self::Orders => "orders",
            Self::Catalog => "catalog",
            Self::SyncStatus => "sync_status",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_projection_runs_under_its_stored_name_once() {
        let running: Vec<&str> = crate::all().iter().map(|p| p.name()).collect();
        let named: Vec<&str> = ReadModel::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            running, named,
            "all() starts one projection per name, in order"
        );
        for model in ReadModel::ALL {
            assert_eq!(ReadModel::parse(model.name()), Some(model));
        }
        assert_eq!(ReadModel::parse("delivery"), None);
    }
}
