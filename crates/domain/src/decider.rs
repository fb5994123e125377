//! The shape every aggregate has: a stream it lives in, a pure `decide` and `evolve`, and the
//! event enum it writes. The application runs any of them with one generic load-decide-append.

use time::OffsetDateTime;

use crate::DomainEvent;
use crate::streams::StreamId;

pub trait Decider {
    /// What names one instance of the aggregate (a request id, an integration id).
    type Id: Copy;
    type State: Default;
    type Command;
    type Event: DomainEvent;
    type Error;

    /// The stream holding the instance's events.
    fn stream(id: Self::Id) -> StreamId;

    fn decide(
        state: &Self::State,
        command: Self::Command,
        now: OffsetDateTime,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
}
