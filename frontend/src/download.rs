//! Saving a file the page or its worker made, without any request: a
//! `Blob` behind a temporary object URL, clicked as a download link.

use wasm_bindgen::JsCast;
use web_sys::Blob;

use crate::worker_client::describe_js_error;

/// Offers `blob` as a download named `file_name`.
pub fn save(file_name: &str, blob: &Blob) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(describe_js_error)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(describe_js_error)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    web_sys::Url::revoke_object_url(&url).map_err(describe_js_error)
}
