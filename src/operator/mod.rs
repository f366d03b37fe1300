//! (placeholder until the operator-state branch lands)
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OperatorState {
    pub maintenance: bool,
    pub demotions: BTreeMap<String, i32>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

impl OperatorState {
    pub fn load(path: &Path) -> Result<OperatorState, StateError> {
        let _ = path;
        todo!()
    }
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let _ = path;
        todo!()
    }
    pub fn total_demotion(&self) -> i32 {
        todo!()
    }
    pub fn enter_maintenance(&mut self) {
        todo!()
    }
    pub fn leave_maintenance(&mut self) {
        todo!()
    }
    pub fn demote(&mut self, name: &str, delta: i32) -> Result<(), StateError> {
        let _ = (name, delta);
        todo!()
    }
    pub fn clear(&mut self, name: &str) -> Result<(), StateError> {
        let _ = name;
        todo!()
    }
}
