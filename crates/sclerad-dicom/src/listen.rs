//! A DICOM C-STORE receiver (storage SCP) over the DICOM upper layer
//! (dicom-ul), so that a PACS can push a study's images: one association
//! at a time per connection, C-ECHO answered, each C-STORE's instance
//! handed to a [`Receiver`], and the association's release answered only
//! once the receiver has kept what it took (or aborted when it could not),
//! so the sender knows.
//!
//! What the receiver does with an instance (de-identify it, keep it) is
//! the caller's; this module knows the protocol only.

use std::net::TcpStream;
use std::time::Duration;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType};
use dicom_ul::Pdu;

/// What the receiver answers for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Taken (C-STORE status Success).
    Taken,
    /// Not taken, and why (status 0xC000, the reason as the error
    /// comment).
    Refused(String),
}

/// Takes what an association brings.
pub trait Receiver {
    /// One instance of the association.
    fn instance(&mut self, file: FileDicomObject<InMemDicomObject>) -> Verdict;
    /// The sender released the association: keep what was taken. An
    /// error aborts the association instead of releasing it.
    fn release(&mut self) -> Result<(), String>;
}

/// How the receiver presents itself.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Its AE title (a sender must call it by this title).
    pub ae_title: String,
    /// The largest PDU it takes.
    pub max_pdu_length: u32,
    /// How long it waits for the sender between PDUs.
    pub timeout: Duration,
}

/// What one association did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The sender's AE title.
    pub calling_ae: String,
    /// C-STORE requests received.
    pub stores: usize,
    /// Released (and kept), rather than aborted or broken off.
    pub released: bool,
}

/// Why an association failed.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("the association was not established: {0}")]
    Establish(String),
    #[error("the association broke: {0}")]
    Broken(String),
}

const C_STORE_RQ: u16 = 0x0001;
const C_ECHO_RQ: u16 = 0x0030;
/// Error: cannot understand (PS3.4 B.2.3).
const CANNOT_UNDERSTAND: u16 = 0xC000;

fn command(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::command_from_element_iter(elements)
}

fn response(
    field: u16,
    message_id: u16,
    status: u16,
    affected: Option<(&str, &str)>,
    comment: Option<&str>,
) -> InMemDicomObject {
    let mut e = vec![
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            PrimitiveValue::from(message_id),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(0x0101u16),
        ),
        DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
    ];
    if let Some((class, instance)) = affected {
        e.push(DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ));
        e.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(instance),
        ));
    }
    if let Some(text) = comment {
        // The Error Comment holds at most 64 characters.
        let text: String = text
            .chars()
            .filter(|c| c.is_ascii() && !c.is_control())
            .take(64)
            .collect();
        e.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(text.as_str()),
        ));
    }
    command(e)
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

/// Serves one association on `stream`.
pub fn serve(
    stream: TcpStream,
    options: &ListenOptions,
    receiver: &mut dyn Receiver,
) -> Result<Served, ListenError> {
    let _ = stream.set_read_timeout(Some(options.timeout));
    let _ = stream.set_write_timeout(Some(options.timeout));
    let mut scp = ServerAssociationOptions::new()
        .accept_called_ae_title()
        .ae_title(options.ae_title.as_str())
        .max_pdu_length(options.max_pdu_length)
        // Any storage class: what is not an image is refused per instance.
        .promiscuous(true);
    for ts in TransferSyntaxRegistry.iter() {
        if !ts.is_unsupported() {
            scp = scp.with_transfer_syntax(ts.uid());
        }
    }
    scp = scp.with_abstract_syntax("1.2.840.10008.1.1");
    let mut association = scp
        .establish(stream)
        .map_err(|e| ListenError::Establish(e.to_string()))?;
    let mut served = Served {
        calling_ae: dicom_ul::association::Association::peer_ae_title(&association)
            .trim()
            .to_string(),
        stores: 0,
        released: false,
    };
    let implicit = dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased();
    // The command being answered, and the data set gathered for it.
    let mut pending: Option<InMemDicomObject> = None;
    let mut data: Vec<u8> = Vec::new();
    let mut command_bytes: Vec<u8> = Vec::new();
    loop {
        let pdu = match association.receive() {
            Ok(pdu) => pdu,
            Err(e) => return Err(ListenError::Broken(e.to_string())),
        };
        match pdu {
            Pdu::PData { data: values } => {
                for value in values {
                    match value.value_type {
                        PDataValueType::Command => {
                            command_bytes.extend_from_slice(&value.data);
                            if !value.is_last {
                                continue;
                            }
                            let cmd = InMemDicomObject::read_dataset_with_ts(
                                command_bytes.as_slice(),
                                &implicit,
                            )
                            .map_err(|e| {
                                ListenError::Broken(format!("an unreadable command: {e}"))
                            })?;
                            command_bytes.clear();
                            let field = cmd
                                .get(tags::COMMAND_FIELD)
                                .and_then(|e| e.value().to_int::<u16>().ok())
                                .unwrap_or(0);
                            let id = cmd
                                .get(tags::MESSAGE_ID)
                                .and_then(|e| e.value().to_int::<u16>().ok())
                                .unwrap_or(0);
                            match field {
                                C_ECHO_RQ => {
                                    let rsp = response(0x8030, id, 0, None, None);
                                    send(
                                        &mut association,
                                        value.presentation_context_id,
                                        &rsp,
                                        &implicit,
                                    )?;
                                }
                                C_STORE_RQ => {
                                    pending = Some(cmd);
                                    data.clear();
                                }
                                other => {
                                    return Err(ListenError::Broken(format!(
                                        "a command this receiver does not serve (0x{other:04X})"
                                    )))
                                }
                            }
                        }
                        PDataValueType::Data => {
                            data.extend_from_slice(&value.data);
                            if !value.is_last {
                                continue;
                            }
                            let Some(cmd) = pending.take() else {
                                return Err(ListenError::Broken(
                                    "a data set without a command".into(),
                                ));
                            };
                            served.stores += 1;
                            let id = cmd
                                .get(tags::MESSAGE_ID)
                                .and_then(|e| e.value().to_int::<u16>().ok())
                                .unwrap_or(0);
                            let class = text(&cmd, tags::AFFECTED_SOP_CLASS_UID);
                            let instance = text(&cmd, tags::AFFECTED_SOP_INSTANCE_UID);
                            let ts = association
                                .presentation_contexts()
                                .iter()
                                .find(|pc| pc.id == value.presentation_context_id)
                                .map(|pc| pc.transfer_syntax.clone())
                                .unwrap_or_default();
                            let verdict = match file_of(&data, &ts, &class, &instance) {
                                Ok(file) => receiver.instance(file),
                                Err(why) => Verdict::Refused(why),
                            };
                            data.clear();
                            let (status, comment) = match &verdict {
                                Verdict::Taken => (0, None),
                                Verdict::Refused(why) => (CANNOT_UNDERSTAND, Some(why.as_str())),
                            };
                            let rsp =
                                response(0x8001, id, status, Some((&class, &instance)), comment);
                            send(
                                &mut association,
                                value.presentation_context_id,
                                &rsp,
                                &implicit,
                            )?;
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                return match receiver.release() {
                    Ok(()) => {
                        association
                            .send(&Pdu::ReleaseRP)
                            .map_err(|e| ListenError::Broken(e.to_string()))?;
                        served.released = true;
                        Ok(served)
                    }
                    Err(why) => {
                        let _ = association.abort();
                        Err(ListenError::Broken(format!(
                            "what the association brought could not be kept, so it was aborted: {why}"
                        )))
                    }
                };
            }
            Pdu::AbortRQ { .. } => {
                return Err(ListenError::Broken(
                    "the sender aborted the association".into(),
                ));
            }
            _ => {}
        }
    }
}

fn send(
    association: &mut dicom_ul::association::ServerAssociation<TcpStream>,
    context: u8,
    obj: &InMemDicomObject,
    ts: &dicom_encoding::TransferSyntax,
) -> Result<(), ListenError> {
    let mut bytes = Vec::new();
    obj.write_dataset_with_ts(&mut bytes, ts)
        .map_err(|e| ListenError::Broken(format!("cannot write a response: {e}")))?;
    association
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context,
                value_type: PDataValueType::Command,
                is_last: true,
                data: bytes,
            }],
        })
        .map_err(|e| ListenError::Broken(e.to_string()))
}

/// A received data set as a file object (meta built from the command).
fn file_of(
    data: &[u8],
    ts: &str,
    class: &str,
    instance: &str,
) -> Result<FileDicomObject<InMemDicomObject>, String> {
    let ts_uid = ts.trim_end_matches('\0');
    let syntax = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| format!("an unknown transfer syntax {ts_uid}"))?;
    let obj = InMemDicomObject::read_dataset_with_ts(data, syntax)
        .map_err(|e| format!("an unreadable data set: {e}"))?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(ts_uid)
        .build()
        .map_err(|e| format!("cannot make its file meta information: {e}"))?;
    Ok(obj.with_exact_meta(meta))
}
