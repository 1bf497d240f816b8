//! What a batch of generated cases hands to the loader: one COPY buffer per table, the
//! access-log events to seal, the reference counters used and a summary of each case.

use retour_domain::CaseStatus;
use uuid::Uuid;

use crate::audit::StoredEvent;
use crate::synthetic::copy::CopyBuf;

/// The COPY rows of one batch, one buffer per table.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub cases: CopyBuf,
    pub persons: CopyBuf,
    pub medical: CopyBuf,
    pub eligibility: CopyBuf,
    pub requested: CopyBuf,
    pub notes: CopyBuf,
    pub events: CopyBuf,
    pub questions: CopyBuf,
    pub decisions: CopyBuf,
    pub approved: CopyBuf,
    pub itineraries: CopyBuf,
    pub departures: CopyBuf,
    pub disbursements: CopyBuf,
    pub visits: CopyBuf,
    pub deadlines: CopyBuf,
    pub endings: CopyBuf,
    pub info_requests: CopyBuf,
    pub reclaims: CopyBuf,
    pub audit: CopyBuf,
}

impl Tables {
    /// Every table's buffer, in a fixed order.
    fn all(&self) -> [&CopyBuf; 19] {
        [
            &self.cases,
            &self.persons,
            &self.medical,
            &self.eligibility,
            &self.requested,
            &self.notes,
            &self.events,
            &self.questions,
            &self.decisions,
            &self.approved,
            &self.itineraries,
            &self.departures,
            &self.disbursements,
            &self.visits,
            &self.deadlines,
            &self.endings,
            &self.info_requests,
            &self.reclaims,
            &self.audit,
        ]
    }
}

/// A generated case, as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    pub id: Uuid,
    pub reference: String,
    pub status: CaseStatus,
    pub counselling_service_id: Uuid,
    /// The principal applicant's surname.
    pub surname: String,
}

/// One batch of generated cases.
#[derive(Debug)]
pub struct Batch {
    pub(crate) tables: Tables,
    pub(crate) audit: Vec<StoredEvent>,
    /// The last reference number used per prefix and year.
    pub(crate) counters: Vec<(String, i32, i64)>,
    pub cases: Vec<CaseSummary>,
}

impl Batch {
    /// Rows across every table.
    pub fn rows(&self) -> u64 {
        self.tables.all().iter().map(|b| b.rows()).sum()
    }

    /// The batch's COPY text, table after table: equal for equal inputs.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for buf in self.tables.all() {
            hasher.update(buf.bytes());
            hasher.update([0]);
        }
        hasher.finalize().into()
    }
}
