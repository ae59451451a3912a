//! The REDCap data dictionary: the one sclerad writes for the format's
//! clinical record (generated from the format's column definitions in
//! `sclerad_model`), and reading any project's dictionary.

use sclerad_model::{
    ColumnKind, CtType, Location, PatientColumn as Col, Problem, Requirement, Sex, Subset,
    TableName,
};

use crate::csv::{line, table_problems};

/// The 18 columns of a REDCap data dictionary, in REDCap's order.
pub const DICTIONARY_HEADERS: [&str; 18] = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
];

/// The form (REDCap instrument) of sclerad's dictionary: its records
/// export has a `clinical_record_complete` column.
pub const FORM: &str = "clinical_record";

/// The longest variable name REDCap accepts without a warning.
pub const MAX_FIELD_NAME: usize = 26;

/// The REDCap field of a format column: the column's own name, shortened
/// where it is longer than REDCap's 26 characters.
pub fn field_name(column: Col) -> &'static str {
    match column {
        Col::PeriarticularCalcification => "periarticular_calc",
        other => other.code(),
    }
}

/// The format column of one of sclerad's field names (or of the column's
/// own name).
pub fn column_of_field(name: &str) -> Option<Col> {
    Col::ALL
        .iter()
        .copied()
        .find(|c| field_name(*c) == name || c.code() == name)
}

/// A REDCap field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `text`: a text box, possibly validated (date, number, integer…).
    Text,
    /// `notes`: a notes box.
    Notes,
    /// `dropdown`.
    Dropdown,
    /// `radio`.
    Radio,
    /// `checkbox`: exported as one 0/1 column per choice, `field___code`.
    Checkbox,
    /// `yesno`: 1 yes, 0 no.
    YesNo,
    /// `truefalse`: 1 true, 0 false.
    TrueFalse,
    /// `calc`: a calculated field.
    Calc,
    /// `slider`.
    Slider,
    /// `file`: an upload, exported as a name.
    File,
    /// `descriptive`: text on the form, never exported.
    Descriptive,
    /// `sql`: a dynamic dropdown.
    Sql,
}

impl FieldType {
    /// The name in a dictionary.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Notes => "notes",
            FieldType::Dropdown => "dropdown",
            FieldType::Radio => "radio",
            FieldType::Checkbox => "checkbox",
            FieldType::YesNo => "yesno",
            FieldType::TrueFalse => "truefalse",
            FieldType::Calc => "calc",
            FieldType::Slider => "slider",
            FieldType::File => "file",
            FieldType::Descriptive => "descriptive",
            FieldType::Sql => "sql",
        }
    }

    const ALL: [FieldType; 12] = [
        FieldType::Text,
        FieldType::Notes,
        FieldType::Dropdown,
        FieldType::Radio,
        FieldType::Checkbox,
        FieldType::YesNo,
        FieldType::TrueFalse,
        FieldType::Calc,
        FieldType::Slider,
        FieldType::File,
        FieldType::Descriptive,
        FieldType::Sql,
    ];

    /// Parses a dictionary's field type (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        FieldType::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(t))
    }

    /// Whether the field's values are choice codes (radio, dropdown,
    /// checkbox).
    pub fn has_choices(self) -> bool {
        matches!(
            self,
            FieldType::Radio | FieldType::Dropdown | FieldType::Checkbox
        )
    }
}

/// One choice of a radio, dropdown or checkbox field: its raw code and
/// label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The raw value, as a raw records export writes it.
    pub code: String,
    /// What the form shows.
    pub label: String,
}

/// One field (row) of a data dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Spreadsheet row in the dictionary file (header = 1); 0 for a field
    /// made here.
    pub row: u32,
    /// Variable / Field Name.
    pub name: String,
    /// Form Name.
    pub form: String,
    /// Section Header.
    pub section: String,
    /// Field Type.
    pub field_type: FieldType,
    /// Field Label.
    pub label: String,
    /// The choices of a radio, dropdown or checkbox field.
    pub choices: Vec<Choice>,
    /// Field Note.
    pub note: String,
    /// Text Validation Type (`date_ymd`, `number`, `integer`…), empty if none.
    pub validation: String,
    /// Text Validation Min.
    pub min: String,
    /// Text Validation Max.
    pub max: String,
    /// Identifier? (`y`).
    pub identifier: bool,
    /// Branching Logic.
    pub branching: String,
    /// Required Field? (`y`).
    pub required: bool,
    /// Field Annotation.
    pub annotation: String,
}

impl Field {
    /// The choice with this raw code.
    pub fn choice(&self, code: &str) -> Option<&Choice> {
        self.choices.iter().find(|c| c.code == code)
    }

    /// Whether the field holds dates (`date_*` or `datetime_*` validation).
    pub fn is_date(&self) -> bool {
        self.validation.starts_with("date")
    }

    /// Whether the field holds a date and a time.
    pub fn is_datetime(&self) -> bool {
        self.validation.starts_with("datetime")
    }

    /// The choices as a dictionary writes them: `code, label | …`.
    pub fn choices_text(&self) -> String {
        let parts: Vec<String> = self
            .choices
            .iter()
            .map(|c| format!("{}, {}", c.code, c.label))
            .collect();
        parts.join(" | ")
    }
}

/// A data dictionary: its fields in order (the first is the record ID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dictionary {
    /// Where it came from (file name).
    pub file: String,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

impl Dictionary {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Position of the field named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The record ID field (the first).
    pub fn record_id(&self) -> Option<&Field> {
        self.fields.first()
    }

    /// The names of the forms, in order.
    pub fn forms(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.fields {
            if !out.contains(&f.form.as_str()) {
                out.push(&f.form);
            }
        }
        out
    }

    /// The dictionary as a CSV file REDCap's "Upload Data Dictionary" takes.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        line(&mut out, DICTIONARY_HEADERS.iter().map(|h| h.to_string()));
        let yes = |b: bool| if b { "y".to_string() } else { String::new() };
        for f in &self.fields {
            line(
                &mut out,
                [
                    f.name.clone(),
                    f.form.clone(),
                    f.section.clone(),
                    f.field_type.name().to_string(),
                    f.label.clone(),
                    f.choices_text(),
                    f.note.clone(),
                    f.validation.clone(),
                    f.min.clone(),
                    f.max.clone(),
                    yes(f.identifier),
                    f.branching.clone(),
                    yes(f.required),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    f.annotation.clone(),
                ],
            );
        }
        out
    }
}

/// The field label of a format column: plain clinical English.
pub fn label(column: Col) -> &'static str {
    match column {
        Col::PatientId => "Patient ID (pseudonymous)",
        Col::Sex => "Sex",
        Col::AgeYears => "Age (years)",
        Col::BirthDate => "Date of birth",
        Col::Subset => "Cutaneous subset (LeRoy/Medsger)",
        Col::OnsetDate => "Date of the first non-Raynaud symptom",
        Col::DiseaseDurationYears => "Disease duration (years)",
        Col::HandXrayDate => "Date of the hand radiograph",
        Col::CtDate => "Date of the spinal CT",
        Col::CtType => "Type of CT",
        Col::CtLevels => "Vertebral levels the CT showed",
        Col::DigitalUlcers => "Digital ulcers (ever)",
        Col::IldCt => "Interstitial lung disease on CT",
        Col::RestrictiveSyndrome => "Restrictive syndrome",
        Col::FvcPctPred => "FVC (% predicted)",
        Col::TlcPctPred => "TLC (% predicted)",
        Col::DlcoPctPred => "DLCO (% predicted)",
        Col::Pah => "Pulmonary arterial hypertension (right heart catheterisation)",
        Col::MpapMmhg => "Mean pulmonary arterial pressure (mmHg)",
        Col::PawpMmhg => "Pulmonary arterial wedge pressure (mmHg)",
        Col::PvrWu => "Pulmonary vascular resistance (Wood units)",
        Col::Death => "Died",
        Col::DeathDate => "Date of death",
        Col::LastFollowupDate => "Date of last follow-up",
        Col::Mrss => "Modified Rodnan skin score",
        Col::SkinProximalMcp => "Skin thickening of the fingers proximal to the MCPs",
        Col::PuffyFingers => "Puffy fingers",
        Col::Sclerodactyly => "Sclerodactyly",
        Col::FingertipUlcers => "Digital tip ulcers",
        Col::PittingScars => "Fingertip pitting scars",
        Col::Telangiectasia => "Telangiectasia",
        Col::AbnormalCapillaries => "Abnormal nailfold capillaries",
        Col::Raynaud => "Raynaud's phenomenon",
        Col::AntiCentromere => "Anticentromere",
        Col::AntiScl70 => "Anti-Scl-70",
        Col::AntiRnap3 => "Anti-RNAP3",
        Col::Calcinosis => "Calcinosis",
        Col::AcroOsteolysis => "Acro-osteolysis",
        Col::PeriarticularCalcification => "Periarticular calcification",
        Col::Erosion => "Erosion",
        Col::JointSpaceNarrowing => "Joint space narrowing",
        Col::Subluxation => "Subluxation",
        Col::FlexionContracture => "Flexion contracture",
        Col::SpineAnterior => "Anterior (discovertebral) calcification",
        Col::SpineCanal => "Calcification in the spinal canal",
        Col::SpineForaminal => "Foraminal calcification",
        Col::SpinePosterior => "Posterior calcification",
    }
}

/// The rule of a column, beyond its type and range, for the field note.
fn rule(column: Col) -> &'static str {
    match column {
        Col::PatientId => "Unique; never a name or a hospital number.",
        Col::BirthDate => {
            "Gives the age at the hand radiograph (else at the CT) when the age is not recorded."
        }
        Col::OnsetDate => "Gives the disease duration when it is not recorded.",
        Col::CtLevels => {
            "Ranges such as t1-l2 or c7-t12,l1-l5; overrides the default of the CT type."
        }
        Col::RestrictiveSyndrome => "If left empty and TLC is recorded: TLC < 80%.",
        Col::Pah => "Confirmed by right heart catheterisation.",
        Col::DeathDate => {
            "Only when the patient died; not before the radiograph, the CT or the onset."
        }
        Col::LastFollowupDate => "Not before the hand radiograph, not after the date of death.",
        Col::SpineForaminal => "Yes only with canal calcification = yes.",
        Col::MpapMmhg | Col::PawpMmhg | Col::PvrWu => "Kept, not used by the analysis.",
        c if is_item(c) => "ACR/EULAR 2013 classification item.",
        c if c.requirement() == Requirement::UnlessHandReadings => {
            "Summary of the hand radiograph readings: present anywhere on either hand."
        }
        c if c.requirement() == Requirement::UnlessSpineReadings => {
            "Summary of the spinal CT readings: at any level the CT showed."
        }
        _ => "",
    }
}

fn is_item(c: Col) -> bool {
    Col::ACR_EULAR_ITEMS.contains(&c)
}

/// The section header that starts at `column`, if one does.
fn section(column: Col) -> &'static str {
    match column {
        Col::PatientId => "Patient",
        Col::HandXrayDate => "Imaging",
        Col::DigitalUlcers => "Organ involvement",
        Col::Death => "Outcome",
        Col::Mrss => "Skin and ACR/EULAR 2013 classification",
        Col::Calcinosis => "Hand radiograph (summary of the readings)",
        Col::SpineAnterior => "Spinal CT (summary of the readings)",
        _ => "",
    }
}

/// The label of a code of a coded column's vocabulary.
pub fn choice_label(column: Col, code: &str) -> &'static str {
    match column {
        Col::Sex => match Sex::parse(code) {
            Some(Sex::Female) => "Female",
            Some(Sex::Male) => "Male",
            None => "",
        },
        Col::Subset => match Subset::parse(code) {
            Some(Subset::Limited) => "Limited cutaneous SSc",
            Some(Subset::Diffuse) => "Diffuse cutaneous SSc",
            None => "",
        },
        Col::CtType => match CtType::parse(code) {
            Some(CtType::Thoracic) => "Thoracic CT",
            Some(CtType::ThoracoAbdominoPelvic) => "Thoraco-abdomino-pelvic CT",
            Some(CtType::Lumbar) => "Lumbar CT",
            None => "",
        },
        _ => "",
    }
}

/// A bound as a dictionary writes it (`0`, `120`, `2.5`).
fn bound(x: f64) -> String {
    x.to_string()
}

fn requirement_note(column: Col) -> String {
    match column.requirement() {
        Requirement::ColumnAndCell => "Required for every patient.".into(),
        Requirement::Column => "Leave empty when unknown.".into(),
        Requirement::OneOf(other) => format!("Give this or {}.", field_name(other)),
        Requirement::UnlessHandReadings => "Leave empty when the hand readings are given.".into(),
        Requirement::UnlessSpineReadings => "Leave empty when the spine readings are given.".into(),
        Requirement::Optional => String::new(),
    }
}

/// The REDCap field of one format column.
pub fn format_field(column: Col) -> Field {
    let mut f = Field {
        row: 0,
        name: field_name(column).to_string(),
        form: FORM.to_string(),
        section: section(column).to_string(),
        field_type: FieldType::Text,
        label: label(column).to_string(),
        choices: Vec::new(),
        note: String::new(),
        validation: String::new(),
        min: String::new(),
        max: String::new(),
        identifier: column == Col::BirthDate,
        branching: String::new(),
        required: column.requirement() == Requirement::ColumnAndCell,
        annotation: format!("sclerad column {}", column.code()),
    };
    let mut note: Vec<String> = Vec::new();
    match column.kind() {
        ColumnKind::Text => {}
        ColumnKind::LevelList => {}
        ColumnKind::Code(codes) => {
            f.field_type = FieldType::Radio;
            f.choices = codes
                .iter()
                .map(|c| Choice {
                    code: c.to_string(),
                    label: choice_label(column, c).to_string(),
                })
                .collect();
        }
        ColumnKind::Boolean => f.field_type = FieldType::YesNo,
        ColumnKind::Date => {
            f.validation = "date_ymd".into();
        }
        ColumnKind::Number {
            min,
            max,
            exclusive,
        } => {
            f.validation = "number".into();
            f.min = bound(min);
            f.max = bound(max);
            note.push(if exclusive {
                format!("Greater than {} and less than {}.", bound(min), bound(max))
            } else {
                format!("From {} to {}.", bound(min), bound(max))
            });
        }
        ColumnKind::WholeNumber { min, max } => {
            f.validation = "integer".into();
            f.min = min.to_string();
            f.max = max.to_string();
            note.push(format!("A whole number from {min} to {max}."));
        }
    }
    let rule = rule(column);
    if !rule.is_empty() {
        note.push(rule.to_string());
    }
    let required = requirement_note(column);
    if !required.is_empty() {
        note.push(required);
    }
    f.note = note.join(" ");
    if column == Col::DeathDate {
        f.branching = format!("[{}] = '1'", field_name(Col::Death));
    }
    f
}

/// sclerad's data dictionary: one field per column of the format's
/// `patients` table, in the format's order, `patient_id` first (the record
/// ID).
pub fn format_dictionary() -> Dictionary {
    Dictionary {
        file: "sclerad".into(),
        fields: Col::ALL.iter().map(|c| format_field(*c)).collect(),
    }
}

/// [`format_dictionary`] as the CSV file to upload to REDCap.
pub fn dictionary_csv() -> String {
    format_dictionary().to_csv()
}

/// What sclerad reads of a dictionary's columns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Name,
    Form,
    Section,
    Type,
    Label,
    Choices,
    Note,
    Validation,
    Min,
    Max,
    Identifier,
    Branching,
    Required,
    Annotation,
}

fn normal(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn part_of(header: &str) -> Option<Part> {
    let h = normal(header);
    Some(match h.as_str() {
        "variablefieldname" | "fieldname" | "variablename" => Part::Name,
        "formname" | "instrument" | "instrumentname" => Part::Form,
        "sectionheader" => Part::Section,
        "fieldtype" => Part::Type,
        "fieldlabel" => Part::Label,
        "choicescalculationsorsliderlabels" | "choices" => Part::Choices,
        "fieldnote" => Part::Note,
        "textvalidationtypeorshowslidernumber" | "textvalidationtype" => Part::Validation,
        "textvalidationmin" => Part::Min,
        "textvalidationmax" => Part::Max,
        "identifier" => Part::Identifier,
        "branchinglogicshowfieldonlyif" | "branchinglogic" => Part::Branching,
        "requiredfield" => Part::Required,
        "fieldannotation" => Part::Annotation,
        _ => return None,
    })
}

/// Parses `code, label | code, label`.
fn parse_choices(text: &str) -> Result<Vec<Choice>, String> {
    let mut out: Vec<Choice> = Vec::new();
    for part in text.split('|') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((code, label)) = part.split_once(',') else {
            return Err(format!(
                "the choice {part:?} has no code: write choices as 'code, label | code, label'"
            ));
        };
        let code = code.trim();
        if code.is_empty() {
            return Err(format!("the choice {part:?} has an empty code"));
        }
        if out.iter().any(|c| c.code == code) {
            return Err(format!("the choice code {code:?} is given twice"));
        }
        out.push(Choice {
            code: code.to_string(),
            label: label.trim().to_string(),
        });
    }
    if out.is_empty() {
        return Err("the field has no choices: write them as 'code, label | code, label'".into());
    }
    Ok(out)
}

/// Reads a data dictionary (sclerad's, or a centre's own project's, as
/// REDCap's "Download the current Data Dictionary" writes it). Every
/// problem is reported, at the dictionary's row and column (`bad-dictionary`).
pub fn read_dictionary(file: &str, bytes: &[u8]) -> (Dictionary, Vec<Problem>) {
    let mut dict = Dictionary {
        file: file.to_string(),
        fields: Vec::new(),
    };
    let table = match sclerad_bundle::read_plain_csv_bytes(file, bytes) {
        Ok(t) => t,
        Err(problems) => return (dict, table_problems(problems)),
    };
    let mut problems = Vec::new();
    let name = TableName::file(file);
    let parts: Vec<Option<Part>> = table.header.iter().map(|h| part_of(h)).collect();
    let at = |p: Part| parts.iter().position(|x| *x == Some(p));
    for (needed, header) in [
        (Part::Name, DICTIONARY_HEADERS[0]),
        (Part::Form, DICTIONARY_HEADERS[1]),
        (Part::Type, DICTIONARY_HEADERS[3]),
    ] {
        if at(needed).is_none() {
            problems.push(Problem::error(
                "bad-dictionary",
                Location::row(&name, 1),
                format!("the header has no column {header:?}: is this a REDCap data dictionary?"),
            ));
        }
    }
    if !problems.is_empty() {
        return (dict, problems);
    }
    for (row, cells) in &table.rows {
        let get = |p: Part| -> &str { at(p).and_then(|i| cells.get(i)).map_or("", |s| s.as_str()) };
        let header_of = |p: Part| at(p).map_or("", |i| table.header[i].as_str());
        let mut bad = |p: Part, value: &str, message: String| {
            problems.push(
                Problem::error(
                    "bad-dictionary",
                    Location::cell(&name, *row, header_of(p)),
                    message,
                )
                .with_value(value),
            );
        };
        let field_name = get(Part::Name).trim();
        if field_name.is_empty() {
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            bad(Part::Name, "", "a field without a name".into());
            continue;
        }
        let valid_name = field_name.starts_with(|c: char| c.is_ascii_lowercase())
            && field_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            bad(
                Part::Name,
                field_name,
                "a REDCap field name is lower-case letters, digits and underscores, starting with a letter".into(),
            );
            continue;
        }
        if let Some(first) = dict.field(field_name) {
            let first_row = first.row;
            bad(
                Part::Name,
                field_name,
                format!("the field {field_name} is defined twice (first at row {first_row})"),
            );
            continue;
        }
        let type_text = get(Part::Type);
        let Some(field_type) = FieldType::parse(type_text) else {
            let known: Vec<&str> = FieldType::ALL.iter().map(|f| f.name()).collect();
            bad(
                Part::Type,
                type_text,
                format!(
                    "{field_name}: not a REDCap field type (one of {})",
                    known.join(", ")
                ),
            );
            continue;
        };
        let choices = if field_type.has_choices() {
            match parse_choices(get(Part::Choices)) {
                Ok(c) => c,
                Err(e) => {
                    bad(
                        Part::Choices,
                        get(Part::Choices),
                        format!("{field_name}: {e}"),
                    );
                    continue;
                }
            }
        } else {
            Vec::new()
        };
        let flag = |p: Part| get(p).trim().eq_ignore_ascii_case("y");
        dict.fields.push(Field {
            row: *row,
            name: field_name.to_string(),
            form: get(Part::Form).trim().to_string(),
            section: get(Part::Section).to_string(),
            field_type,
            label: get(Part::Label).trim().to_string(),
            choices,
            note: get(Part::Note).to_string(),
            validation: get(Part::Validation).trim().to_ascii_lowercase(),
            min: get(Part::Min).trim().to_string(),
            max: get(Part::Max).trim().to_string(),
            identifier: flag(Part::Identifier),
            branching: get(Part::Branching).to_string(),
            required: flag(Part::Required),
            annotation: get(Part::Annotation).to_string(),
        });
    }
    if dict.fields.is_empty() && problems.is_empty() {
        problems.push(Problem::error(
            "bad-dictionary",
            Location::table(&name),
            "the dictionary has no fields",
        ));
    }
    (dict, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_valid_redcap_names() {
        for c in Col::ALL {
            let n = field_name(*c);
            assert!(n.len() <= MAX_FIELD_NAME, "{n}");
            assert_eq!(column_of_field(n), Some(*c));
        }
    }
}
