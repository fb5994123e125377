//! The read models a use case waits for after writing, so that the caller's next request sees its
//! own write. A name that is not a projection cannot be written here.

/// A projection a use case settles on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadModel {
    Pairings,
    ConnectionHealth,
    SyncStatus,
}

impl ReadModel {
    pub const ALL: [ReadModel; 3] = [
        ReadModel::Pairings,
        ReadModel::ConnectionHealth,
        ReadModel::SyncStatus,
    ];

    /// The projection's name, its checkpoint key.
    pub fn name(self) -> &'static str {
        match self {
            ReadModel::Pairings => "pairings",
            ReadModel::ConnectionHealth => "connection_health",
            ReadModel::SyncStatus => "sync_status",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_model_waited_for_is_a_running_projection() {
        let running: Vec<&str> = woo_projections::all().iter().map(|p| p.name()).collect();
        for model in ReadModel::ALL {
            assert!(
                running.contains(&model.name()),
                "{model:?} is not a projection"
            );
        }
    }
}
