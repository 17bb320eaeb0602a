//! The hierarchy's nodes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeOut {
    pub id: i64,
    /// `null` for the root.
    pub parent_id: Option<i64>,
    pub name: String,
    /// The names from the root down, joined with `/`.
    pub path: String,
    /// Active users (not in the trash can) who are members of this node
    /// directly; members of the nodes below it are not counted.
    pub users: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeList {
    /// Every node, in path order.
    pub nodes: Vec<NodeOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeInput {
    /// The parent; required (there is one root). On update, a new parent
    /// moves the node with everything below it.
    pub parent_id: Option<i64>,
    pub name: String,
}
