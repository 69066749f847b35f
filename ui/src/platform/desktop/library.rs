//! The desktop's board library: the embedded node's data directory, through
//! the shell's commands.

use async_trait::async_trait;
use board_key::link::ShareLink;
use desktop_wire::{BoardEntry, command};
use wasm_bindgen::JsValue;

use super::ipc;
use crate::platform::{Library, StorageError};

#[derive(Debug, Default)]
pub struct NodeLibrary;

#[async_trait(?Send)]
impl Library for NodeLibrary {
    async fn list(&self) -> Result<Vec<BoardEntry>, StorageError> {
        let value =
            ipc::invoke(command::LIST_BOARDS, &JsValue::UNDEFINED).await.map_err(StorageError::Failed)?;
        let mut boards: Vec<BoardEntry> = ipc::from_js(&value).map_err(StorageError::Failed)?;
        boards.sort_by_key(|b| std::cmp::Reverse(b.last_opened_ms));
        Ok(boards)
    }

    async fn create(&self, title: &str) -> Result<ShareLink, StorageError> {
        let arguments = ipc::to_js(&desktop_wire::CreateBoard { title: title.to_owned() });
        let value = ipc::invoke(command::CREATE_BOARD, &arguments).await.map_err(StorageError::Failed)?;
        let fragment = value
            .as_string()
            .ok_or_else(|| StorageError::Failed("the desktop app returned no link".into()))?;
        ShareLink::parse_fragment(&fragment).map_err(|e| StorageError::Failed(e.to_string()))
    }

    async fn delete(&self, board: uuid::Uuid) -> Result<(), StorageError> {
        let arguments = ipc::to_js(&desktop_wire::BoardArg { board: board.hyphenated().to_string() });
        ipc::invoke(command::DELETE_BOARD, &arguments).await.map(|_| ()).map_err(StorageError::Failed)
    }

    async fn entry(&self, _board: uuid::Uuid) -> Result<Option<BoardEntry>, StorageError> {
        // The node keeps its own list and notes when a board is opened.
        Ok(None)
    }

    async fn put_entry(&self, _entry: &BoardEntry) -> Result<(), StorageError> {
        Ok(())
    }
}
