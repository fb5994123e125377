//! Getting an installation token the way a store does: ask to pair, have a person approve, claim
//! the token. Unattended runs approve with an account's email and password, over HTTP exactly as a
//! browser does: the sign-in form with its CSRF cookie, then the authorize page's approve form.
//! No path into the database: everything the service checks for a person, it checks here too.

use std::time::Duration;

use uuid::Uuid;
use woo_client::PluginClient;
use woo_domain::api::PairStoreRequest;

use super::LoadgenError;

/// An account that approves the pairing, and the company the store goes to.
pub struct Approver {
    pub email: String,
    pub password: String,
    pub company: Option<String>,
}

/// A store paired by this run.
pub struct Paired {
    pub token: String,
    pub integration_id: String,
}

/// Pairs a store named after this run and returns its installation token.
pub async fn pair(server: &str, approver: Option<&Approver>) -> Result<Paired, LoadgenError> {
    let client = PluginClient::new(server);
    let install = Uuid::now_v7().simple().to_string();
    let store = PairStoreRequest {
        install_id: format!("loadgen-{install}"),
        store_url: format!("https://loadgen-{}.example.com", &install[20..]),
        site_name: "Load generator".into(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        ..PairStoreRequest::default()
    };
    let request = client.pair_store(&store).await?;
    let interval = Duration::from_secs(u64::from(request.interval));
    match approver {
        Some(approver) => approve(server, &request.authorize_url, approver).await?,
        None => {
            eprintln!(
                "Open this link to approve the load generator's store: {}",
                request.authorize_url
            );
            tokio::time::sleep(interval).await;
        }
    }
    let mut interval = interval;
    loop {
        match client
            .claim_token(request.request_id, &request.device_code)
            .await
        {
            Ok(claim) => {
                eprintln!(
                    "paired with {} as integration {}; reuse it with --token {}",
                    claim.company.name, claim.integration_id, claim.installation_token
                );
                return Ok(Paired {
                    token: claim.installation_token,
                    integration_id: claim.integration_id.to_string(),
                });
            }
            Err(e) if e.code() == Some("authorization_pending") => {}
            Err(e) if e.code() == Some("slow_down") => interval += Duration::from_secs(5),
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Signs in through `/login` and posts the authorize page's approve form.
async fn approve(
    server: &str,
    authorize_url: &str,
    approver: &Approver,
) -> Result<(), LoadgenError> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let login = browser
        .get(format!("{server}/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = input_value(&login, "csrf")
        .ok_or_else(|| LoadgenError::Page(format!("{server}/login has no sign-in form")))?;
    let signed_in = browser
        .post(format!("{server}/login"))
        .form(&[
            ("email", approver.email.as_str()),
            ("password", approver.password.as_str()),
            ("csrf", csrf.as_str()),
            ("next", "/"),
        ])
        .send()
        .await?;
    if !signed_in.status().is_redirection() {
        return Err(LoadgenError::Page(format!(
            "signing in as {} failed ({}): check --email and --password (or WOO_INGEST_PASSWORD)",
            approver.email,
            signed_in.status()
        )));
    }
    // The link carries the service's public URL, which need not be reachable from here.
    let path = authorize_url
        .find("/setup/")
        .map_or(authorize_url, |at| &authorize_url[at..]);
    let page = browser
        .get(format!("{server}{path}"))
        .send()
        .await?
        .text()
        .await?;
    let (Some(csrf), Some(action)) = (input_value(&page, "csrf"), form_action(&page)) else {
        return Err(LoadgenError::Page(format!(
            "the authorize page has no approve form: is {} an owner or admin of a company?",
            approver.email
        )));
    };
    let companies = options(&page);
    let company = match &approver.company {
        Some(name) => companies.iter().find(|(_, n)| n == name).ok_or_else(|| {
            LoadgenError::Page(format!(
                "{} cannot connect stores to {name:?}; it can to: {}",
                approver.email,
                names(&companies)
            ))
        })?,
        None => companies
            .first()
            .ok_or_else(|| LoadgenError::Page(format!("{} manages no company", approver.email)))?,
    };
    let approved = browser
        .post(format!("{server}{action}"))
        .form(&[("csrf", csrf.as_str()), ("company_id", company.0.as_str())])
        .send()
        .await?;
    if !approved.status().is_redirection() {
        return Err(LoadgenError::Page(format!(
            "approving the pairing was refused ({})",
            approved.status()
        )));
    }
    Ok(())
}

fn names(companies: &[(String, String)]) -> String {
    companies
        .iter()
        .map(|(_, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of `<input … name="NAME" value="…">`.
fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(unescape(html[start..].split('"').next()?))
}

/// The action of the approve form.
fn form_action(html: &str) -> Option<String> {
    html.match_indices("action=\"")
        .map(|(at, m)| html[at + m.len()..].split('"').next().unwrap_or_default())
        .find(|action| action.starts_with("/setup/woocommerce/") && action.ends_with("/approve"))
        .map(unescape)
}

/// `(value, text)` of every `<option>`.
fn options(html: &str) -> Vec<(String, String)> {
    html.split("<option value=\"")
        .skip(1)
        .filter_map(|rest| {
            let (value, rest) = rest.split_once('"')?;
            let text = rest.split_once('>')?.1.split_once("</option>")?.0;
            Some((unescape(value), unescape(text)))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approve_form_is_read_like_a_browser_reads_it() {
        let page = r#"<form class="stack" method="post" action="/setup/woocommerce/r-1/approve">
            <input type="hidden" name="csrf" value="abc&amp;d"><select name="company_id">
            <option value="c-1">Acme &amp; Co</option><option value="c-2">Beta</option></select>
            <button formaction="/setup/woocommerce/r-1/deny">Deny</button></form>"#;
        assert_eq!(input_value(page, "csrf").as_deref(), Some("abc&d"));
        assert_eq!(
            form_action(page).as_deref(),
            Some("/setup/woocommerce/r-1/approve")
        );
        assert_eq!(
            options(page),
            [
                ("c-1".to_owned(), "Acme & Co".to_owned()),
                ("c-2".to_owned(), "Beta".to_owned())
            ]
        );
        assert_eq!(input_value(page, "missing"), None);
    }
}
