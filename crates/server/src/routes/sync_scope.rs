//! Sync part of the store from Settings → Integrations: the small form under Sync Store (one
//! resource, what changed since a date, a list of ids such as the orders changed while the
//! plugin was off) and the scope it sends. Blank fields narrow nothing.

use maud::{Markup, html};
use serde::Deserialize;
use woo_domain::integration::{ScopeError, SyncResource, SyncScope};

pub(super) fn scope_form(base: &str, csrf: &str) -> Markup {
    html! {
        details data-testid="targeted-sync" {
            summary { "Sync part of the store" }
            form method="post" action={ (base) "/sync" } data-testid="scope-form" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Resource "
                    select name="resource" {
                        option value="" { "everything" }
                        @for resource in SyncResource::ALL { option value=(resource.as_str()) { (resource.as_str()) } }
                    }
                }
                label { " Changed since " input type="date" name="modified_after"; }
                label { " Ids " input type="text" name="ids" inputmode="numeric" placeholder="5001, 5002"; }
                " "
                button.secondary type="submit" { "Sync selected" }
            }
        }
    }
}

/// Sync Store (the CSRF token alone), or Sync selected with the part of the store to sync.
#[derive(Deserialize)]
pub(super) struct SyncForm {
    pub csrf: String,
    resource: Option<String>,
    modified_after: Option<String>,
    ids: Option<String>,
}

impl SyncForm {
    pub(super) fn scope(&self) -> Result<SyncScope, ScopeError> {
        let ids = SyncScope::parse_ids(self.ids.as_deref().unwrap_or_default())?;
        SyncScope::parse(
            self.resource.as_deref(),
            self.modified_after.as_deref(),
            ids,
        )
    }
}
