//! A person's browser without a browser: a cookie jar and the pages' forms over plain HTTP.

use reqwest::StatusCode;
use woo_domain::CompanyId;
use woo_domain::api::PairStoreResponse;

/// A person's browser: a cookie jar and the pages' forms.
pub struct Browser {
    pub http: reqwest::Client,
    pub(crate) address: String,
}

/// The value of the hidden `csrf` input of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in page:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the page answers")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .expect("the form is answered")
    }

    /// Opens the authorize page of a request and submits one of its forms.
    pub async fn approve(
        &self,
        request: &PairStoreResponse,
        company: CompanyId,
    ) -> reqwest::Response {
        let page = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        let company = company.to_string();
        self.post_form(
            &format!("/setup/woocommerce/{}/approve", request.request_id),
            &[("csrf", &csrf), ("company_id", &company)],
        )
        .await
    }

    pub async fn deny(&self, request: &PairStoreResponse) -> reqwest::Response {
        let page = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        self.post_form(
            &format!("/setup/woocommerce/{}/deny", request.request_id),
            &[("csrf", &csrf)],
        )
        .await
    }
}

impl Browser {
    /// The CSRF token of this browser's session (every signed-in page carries it).
    pub async fn csrf(&self) -> String {
        let page = self.get("/setup/woocommerce").await;
        assert_eq!(page.status(), StatusCode::OK, "the browser is signed in");
        csrf_of(&page.text().await.unwrap())
    }

    /// The authorize page of a request: its status and HTML.
    pub async fn request_page(&self, request: &PairStoreResponse) -> (StatusCode, String) {
        let response = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await;
        (response.status(), response.text().await.unwrap())
    }

    /// Submits the user-code form.
    pub async fn enter_code(&self, csrf: &str, code: &str) -> reqwest::Response {
        self.post_form("/setup/woocommerce/code", &[("csrf", csrf), ("code", code)])
            .await
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap_or_else(|| panic!("{} is not a redirect", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}
