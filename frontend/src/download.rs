//! Saving a file the page made, without any request: a `Blob` behind a
//! temporary object URL, clicked as a download link.

use wasm_bindgen::JsCast;

use crate::worker_client::describe_js_error;

/// Offers `text` as a download named `file_name`. CSV gets a byte order
/// mark so that spreadsheet programs read it as UTF-8.
pub fn save_csv(file_name: &str, text: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let parts = js_sys::Array::of1(&format!("\u{feff}{text}").into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/csv;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(describe_js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe_js_error)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(describe_js_error)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    web_sys::Url::revoke_object_url(&url).map_err(describe_js_error)
}
