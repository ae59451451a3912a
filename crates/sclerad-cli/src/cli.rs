//! Every command and flag of `sclerad`, defined once; `--help` is generated
//! from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Imaging-phenotype cohort studies in systemic sclerosis: validate study
/// bundles of hand radiograph and spinal CT readings.
#[derive(Debug, Parser)]
#[command(name = "sclerad", version, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 1 the bundle has problems, 2 usage or I/O error.\n\nRun 'sclerad help <command>' for a command's options and examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a study bundle and list every problem with file, row and column.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Run the whole analysis plan: results.json, report.html, tables.
    #[command(after_help = ANALYZE_EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Write the Nancy-shaped demo cohort to ./sclerad-demo/ and analyse it.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo(DemoArgs),
    /// Quick tests from the command line (2×2 tables, two groups, survival).
    #[command(
        subcommand,
        after_help = "Every statistic matches R (fisher.test, chisq.test, t.test, wilcox.test,
shapiro.test, survdiff, coxph). Human-readable by default; --json for tools.

Examples:
  sclerad stats table 4 5 2 66
  sclerad stats groups --x 12.1,8.4,15.0,9.9 --y 5.2,7.7,6.1,4.9,8.0 --json
  sclerad stats survival follow-up.csv"
    )]
    Stats(StatsCommand),
    /// Write a reproducible synthetic cohort as a study bundle.
    #[command(after_help = SYNTH_EXAMPLES)]
    Synth(SynthArgs),
    /// Run the study server (JSON API, OpenAPI document, Swagger UI).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Import a valid bundle into a study store as a new study (all or nothing).
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Export a study from a store as a bundle that `sclerad analyze` reads.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Manage the users of a study store.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the audit trail of a study store.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// DICOM images: look at an instance.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// REDCap: the format's clinical record as a data dictionary, and a
    /// records export back into a bundle.
    #[command(subcommand)]
    Redcap(RedcapCommand),
}

#[derive(Debug, Subcommand)]
pub enum RedcapCommand {
    /// Write the REDCap data dictionary of the format's clinical record
    /// (one field per column of patients), to upload to a new REDCap project.
    #[command(after_help = "In REDCap: Project Setup > Data Dictionary > Upload (or
Designer > Data Dictionary). Written to standard output without --out.

Examples:
  sclerad redcap dictionary --out sclerad-dictionary.csv
  sclerad redcap dictionary | head -3")]
    Dictionary(RedcapDictionaryArgs),

    /// Turn a REDCap records export ("CSV / Microsoft Excel (raw data)") into
    /// a bundle, validated as `sclerad validate` validates one; nothing is
    /// written while there is an error.
    #[command(after_help = REDCAP_IMPORT_HELP)]
    Import(RedcapImportArgs),

    /// Suggest a mapping of a centre's own REDCap project (its data
    /// dictionary) to the format's columns and codes, for you to check and edit.
    #[command(
        after_help = "Rows: redcap_field,choice,column,value,redcap_label. A value '?' is a
choice the suggestion could not match: replace it with the format's code
(or leave it empty for a missing value) before importing.

Examples:
  sclerad redcap mapping --dictionary centre-dictionary.csv --out mapping.csv
  sclerad redcap import records.csv --dictionary centre-dictionary.csv --mapping mapping.csv --out bundle/"
    )]
    Mapping(RedcapMappingArgs),
}

const REDCAP_IMPORT_HELP: &str = "\
RECORDS.csv is REDCap's records export as raw data (Data Exports > All data
> CSV / Microsoft Excel (raw data)); DICT.csv the project's data dictionary
(sclerad redcap dictionary, or the centre's own with --mapping). Each
problem is listed with the records file's row (header = 1), the REDCap
field, the value and the reason.

Exit status: 0 the bundle was written, 1 the records have errors (nothing
written), 2 usage or I/O error.

Examples:
  sclerad redcap import records.csv --dictionary sclerad-dictionary.csv --out bundle/
  sclerad redcap import records.csv --dictionary dict.csv --date-format dmy --out bundle/
  sclerad redcap import records.csv --dictionary dict.csv --with readings-bundle/ --out bundle/
  sclerad redcap import records.csv --dictionary centre.csv --mapping mapping.csv --out bundle/";

#[derive(Debug, Args)]
pub struct RedcapDictionaryArgs {
    /// File to write (standard output if not given).
    #[arg(long, value_name = "DICT.csv")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RedcapImportArgs {
    /// The records export (CSV, raw data).
    #[arg(value_name = "RECORDS.csv")]
    pub records: PathBuf,

    /// The project's data dictionary.
    #[arg(long, value_name = "DICT.csv")]
    pub dictionary: PathBuf,

    /// A mapping of the project's fields and codes to the format's.
    #[arg(long, value_name = "MAP.csv")]
    pub mapping: Option<PathBuf>,

    /// How the export writes dates: ymd (raw export, YYYY-MM-DD), dmy or
    /// mdy (the export dialog's D-M-Y and M-D-Y).
    #[arg(long, value_enum, default_value_t = RedcapDateArg::Ymd, value_name = "ORDER")]
    pub date_format: RedcapDateArg,

    /// A bundle whose readings tables (hand_readings, spine_readings) are
    /// joined to the records' patients.
    #[arg(long, value_name = "BUNDLE_DIR")]
    pub with: Option<PathBuf>,

    /// Folder to write the bundle into (created if needed).
    #[arg(long, value_name = "BUNDLE_DIR")]
    pub out: PathBuf,

    /// Replace a bundle already in the folder.
    #[arg(long)]
    pub force: bool,

    /// Output format of the problems.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// The largest file read, in bytes, or with a unit: 500M, 2G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedcapDateArg {
    /// YYYY-MM-DD (a raw export).
    Ymd,
    /// DD-MM-YYYY.
    Dmy,
    /// MM-DD-YYYY.
    Mdy,
}

#[derive(Debug, Args)]
pub struct RedcapMappingArgs {
    /// The centre's data dictionary.
    #[arg(long, value_name = "DICT.csv")]
    pub dictionary: PathBuf,

    /// File to write (standard output if not given).
    #[arg(long, value_name = "MAP.csv")]
    pub out: Option<PathBuf>,

    /// The largest file read, in bytes, or with a unit: 500M, 2G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_file_size: u64,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Render one frame of a DICOM file as a PNG, for a quick look: the
    /// modality LUT (Hounsfield units on CT), then a window; MONOCHROME1 is
    /// shown with bone white.
    #[command(
        after_help = "Windows: auto (the file's VOI LUT, else its first window, else the frame's
range), bone (centre 400, width 1800), soft (centre 40, width 400), or
CENTER,WIDTH in the modality's units (HU on CT).

Examples:
  sclerad images render slice.dcm --out slice.png --window bone
  sclerad images render hand.dcm --out hand.png
  sclerad images render series/IM0042 --out a.png --window 300,1500 --frame 0"
    )]
    Render(ImagesRenderArgs),

    /// Take DICOM images into a study, de-identified on the way in (DICOM
    /// PS3.15 Annex E, Basic Profile with Retain Longitudinal Temporal
    /// Information with Modified Dates). Each instance is matched to a
    /// study patient and exam by the map; the originals are never stored.
    #[command(after_help = IMAGES_IMPORT_HELP)]
    Import(ImagesImportArgs),

    /// Receive images pushed by a PACS (DICOM C-STORE on ADDR, as the AE
    /// TITLE), de-identified on the way in as `images import` does; each
    /// association is stored, in one audited import, when the sender
    /// releases it.
    #[command(
        after_help = "A sender must call this receiver by its AE title. Instances that may show
burned-in text, of patients not in the map, or without an exam are answered
with a failure status (0xC000) naming why, and not stored; the others are
stored when the sender releases the association (if that fails, the
association is aborted and nothing of it is stored). C-ECHO is answered.
Ctrl-C stops the receiver; associations released before are kept.

Examples:
  sclerad images listen --study nancy --map map.csv --bind 0.0.0.0:11112 --ae SCLERAD
  storescu -aec SCLERAD localhost 11112 ct/*.dcm"
    )]
    Listen(ImagesListenArgs),

    /// Write a study's stored, de-identified instances as DICOM files:
    /// DIR/PSEUDONYM/EXAM/SERIES/INSTANCE.dcm.
    #[command(
        after_help = "The folder must not exist or be empty; it is written whole or not at all.

Examples:
  sclerad images export --study nancy --out nancy-images/
  sclerad images export --study nancy --out nancy-images/ --db postgres://sclerad@db.example/sclerad"
    )]
    Export(ImagesExportArgs),
}

const IMAGES_IMPORT_HELP: &str = "\
MAP.csv has one row per source patient: columns dicom_patient_id (the
images' Patient ID) and patient_id (the study's), and optionally
accession_number (the row then applies to that exam only) and exam
(hand_radiograph or ct; else recognised from Modality and Body Part
Examined). Several source patients may map to one study patient.

Each file is stored, quarantined (its pixels may show burned-in text:
Burned In Annotation YES, ultrasound, secondary capture…), refused (corrupt,
unknown patient, no exam) or skipped (not DICOM, a DICOMDIR). A quarantined
instance is not stored in any form; once checked, import it again with
--allow-burned-in. Importing the same files again stores nothing twice.

The report (--report) has the columns source, action, reason, patient_id,
exam, instance and warnings (an image date that is not the bundle's).

Exit status: 0 every DICOM instance stored, 1 some quarantined or refused,
2 usage or I/O errors (nothing stored).

Examples:
  sclerad images import /media/cdrom --study nancy --map map.csv --report report.csv
  sclerad images import hands.zip ct/ --study nancy --map map.csv
  sclerad images import checked/IM0007 --study nancy --map map.csv --allow-burned-in";

#[derive(Debug, Args)]
pub struct ImagesImportArgs {
    /// DICOM files, folders (read recursively) or .zip files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The study the images belong to.
    #[arg(long, value_name = "NAME")]
    pub study: String,

    /// The map from source patients to study patients (CSV).
    #[arg(long, value_name = "MAP.csv")]
    pub map: PathBuf,

    /// Write what became of each file here (CSV).
    #[arg(long, value_name = "REPORT.csv")]
    pub report: Option<PathBuf>,

    /// Store instances that may show burned-in text: only after a person
    /// has checked their pixels.
    #[arg(long)]
    pub allow_burned_in: bool,

    /// Largest file read, in MiB (a file or a zip member).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub max_file_size: u64,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct ImagesListenArgs {
    /// The study the images belong to.
    #[arg(long, value_name = "NAME")]
    pub study: String,

    /// The map from source patients to study patients (CSV).
    #[arg(long, value_name = "MAP.csv")]
    pub map: PathBuf,

    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:11112")]
    pub bind: std::net::SocketAddr,

    /// The receiver's AE title (1 to 16 characters).
    #[arg(long, value_name = "TITLE", default_value = "SCLERAD")]
    pub ae: String,

    /// Store instances that may show burned-in text (checked by a person).
    #[arg(long)]
    pub allow_burned_in: bool,

    /// Associations served at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub associations: u32,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct ImagesExportArgs {
    /// The study.
    #[arg(long, value_name = "NAME")]
    pub study: String,

    /// The folder to write (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct ImagesRenderArgs {
    /// The DICOM file.
    pub file: PathBuf,

    /// The PNG to write.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,

    /// auto, bone, soft or CENTER,WIDTH.
    #[arg(long, default_value = "auto", value_parser = parse_window)]
    pub window: sclerad_dicom::render::Window,

    /// The frame of a multi-frame instance, from 0.
    #[arg(long, default_value_t = 0)]
    pub frame: u32,
}

fn parse_window(text: &str) -> Result<sclerad_dicom::render::Window, String> {
    sclerad_dicom::render::Window::parse(text)
}

/// The study store to use; shared by every command that opens one.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The store: `sqlite:FILE.db` (created and migrated if missing) or
    /// `postgres://user:password@host:port/database`.
    #[arg(
        long,
        value_name = "URL",
        default_value = "sqlite:sclerad.db",
        env = "SCLERAD_DB"
    )]
    pub db: String,
}

/// Who a command that changes the store acts as, for the audit trail.
#[derive(Debug, Args, Default)]
pub struct ActAs {
    /// Act as this user of the store: the audit trail names them. The user
    /// must exist, be enabled and have a role that may do this. Without
    /// it, the trail names the operating-system account (`cli:NAME`).
    #[arg(long = "as", value_name = "USER", env = "SCLERAD_AS")]
    pub user: Option<String>,
}

const SERVE_EXAMPLES: &str = "\
The store is created and migrated on first start. Create an admin first
with 'sclerad user add NAME --role admin'. The API is under /api/, its
OpenAPI document at /api/openapi.json and Swagger UI at /api/docs/.
Logs go to stderr (RUST_LOG=debug for more, --log-format json for
machines). Ctrl-C or SIGTERM stops taking requests and lets those in
flight finish. Slow clients are bounded: request headers within
--header-timeout, bodies within --body-timeout, at most --max-connections
connections (fewer under a low ulimit -n). Sessions use Secure cookies:
serve HTTPS with --tls-cert and --tls-key, or put the server behind a
reverse proxy that terminates TLS (see the README); browsers accept Secure
cookies on http://localhost only.

Examples:
  sclerad serve
  sclerad serve --db sqlite:/srv/sclerad/nancy.db --bind 0.0.0.0:8443 \\
      --tls-cert /etc/sclerad/fullchain.pem --tls-key /etc/sclerad/key.pem
  sclerad serve --db postgres://sclerad:secret@db.example/sclerad --log-format json";

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The longest an API token may last, in days (a token's request may
    /// ask for less; the default is 90 days, or this if shorter).
    #[arg(long, value_name = "DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_token_days: u32,

    /// The largest bundle a page may upload, in megabytes (the upload must
    /// also arrive within --body-timeout).
    #[arg(long, value_name = "MB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_upload_mb: u64,

    /// Close a connection that has not sent complete request headers
    /// within this many seconds of connecting or of its previous response
    /// (stalled clients, idle keep-alive connections).
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,

    /// Answer 408 and close the connection when a request body has not
    /// arrived completely within this many seconds of its headers.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,

    /// Close a connection whose client has read nothing of its response
    /// for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout: u64,

    /// The most connections served at once; never more than the open-file
    /// limit (ulimit -n) less 64, nor brought below 16 by it. At the cap,
    /// the connection that has waited longest on its client is closed for
    /// a new one; if none waits, new connections wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Serve HTTPS with this PEM certificate chain (the server's
    /// certificate first, then its intermediates); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key of --tls-cert (PKCS#8, RSA or EC).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// A folder of DICOM files on this machine (a PACS export, a mounted
    /// share): the data manager's images page may take in any folder under
    /// it, by name, besides uploads. Without it, images are uploaded only.
    #[arg(long, value_name = "DIR")]
    pub images_root: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event.
    Json,
}

const IMPORT_EXAMPLES: &str = "\
The bundle is validated first, exactly as 'sclerad validate' does; a bundle
with errors is refused with the list of problems and the store is left
untouched (exit 1). Every cell is kept: readings of every reader, dates,
unknown columns.

With --append, the bundle grows the study NAME instead: its patients are
added after the study's own and its readings (of new patients or of the
study's) beside the study's. Its rows are validated together with the
study's, as one bundle, and every problem is named at its row of the
appended files: a patient id the study has, a reading it holds (a reading
is corrected on the reading pages, not appended again), a column it lacks.
The appended patients.csv needs only the columns it fills (patient_id and
the values the rules require); for readings alone it may hold only a
header.

Examples:
  sclerad import nancy-cohort/ --study nancy
  sclerad import cohort.xlsx --study nancy --db postgres://sclerad@db.example/sclerad
  sclerad import export.csv --study nancy --date-format dmy
  sclerad import new-patients/ --study nancy --append";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle: a folder, a .csv file or an .xlsx workbook.
    pub bundle: PathBuf,

    /// Name of the new study (must not exist in the store); with
    /// --append, of the study to grow.
    #[arg(long, value_name = "NAME")]
    pub study: String,

    /// Add the bundle's patients and readings to the existing study NAME.
    #[arg(long)]
    pub append: bool,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,

    #[command(flatten)]
    pub input: InputArgs,
}

const EXPORT_EXAMPLES: &str = "\
Writes patients.csv and the readings files the study has, in the columns
and order they were imported with. Readings made on the server are written
under the reader's user name ('NAME#repeat' for repeat readings,
'consensus' for adjudicated ones).

Examples:
  sclerad export --study nancy --out nancy-export/
  sclerad export --study nancy --out nancy-export/ --db postgres://sclerad@db.example/sclerad
  sclerad export --study nancy --out nancy-export/ && sclerad analyze nancy-export/ --out results/";

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The study to export.
    #[arg(long, value_name = "NAME")]
    pub study: String,

    /// Folder to write the bundle into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Replace a bundle already in the folder.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is
    /// not a terminal (first line), otherwise asked for twice; it is never
    /// an argument.
    #[command(
        after_help = "Roles: admin (users and studies), data_manager (clinical data,
import, export), reader (blinded readings only), adjudicator (settles
disagreements), analyst (analyses and agreement statistics).

Examples:
  sclerad user add alice --role reader
  printf '%s\\n' \"$PASSWORD\" | sclerad user add bob --role data_manager --db sqlite:study.db"
    )]
    Add(UserAddArgs),
    /// List users and their roles.
    #[command(
        after_help = "Examples:\n  sclerad user list\n  sclerad user list --db postgres://sclerad@db.example/sclerad"
    )]
    List(UserListArgs),
    /// Disable a user: their sessions end and their API tokens are revoked
    /// at once, and they can no longer log in.
    #[command(
        after_help = "Examples:\n  sclerad user disable alice --as admin\n  sclerad user enable alice --as admin"
    )]
    Disable(UserNameArgs),
    /// Enable a disabled user again (revoked API tokens stay revoked).
    #[command(after_help = "Examples:\n  sclerad user enable alice --as admin")]
    Enable(UserNameArgs),
    /// Give a user another role; their sessions end and their API tokens
    /// are revoked.
    #[command(after_help = "Examples:\n  sclerad user role alice --role adjudicator --as admin")]
    Role(UserRoleArgs),
    /// Set a user's password (read as for `user add`); their sessions end
    /// and their API tokens are revoked.
    #[command(
        after_help = "Examples:\n  printf '%s\\n' \"$PASSWORD\" | sclerad user password alice --as admin"
    )]
    Password(UserNameArgs),
}

#[derive(Debug, Args)]
pub struct UserNameArgs {
    /// Login name.
    pub name: String,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct UserRoleArgs {
    /// Login name.
    pub name: String,

    /// The new role.
    #[arg(long, value_enum)]
    pub role: RoleArg,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name.
    pub name: String,

    /// What the user may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub act_as: ActAs,
}

#[derive(Debug, Args)]
pub struct UserListArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Manages users and studies; may do everything.
    Admin,
    /// Enters and corrects clinical data, imports and exports bundles.
    #[value(name = "data_manager")]
    DataManager,
    /// Reads images blind to the clinical data and to other readers.
    Reader,
    /// Settles disagreements between readers.
    Adjudicator,
    /// Runs analyses and agreement statistics.
    Analyst,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the SHA-256 chain of every audit event; exit 1 naming the
    /// first broken link if any event was altered, removed or reordered.
    #[command(
        after_help = "Examples:\n  sclerad audit verify\n  sclerad audit verify --db postgres://sclerad@db.example/sclerad"
    )]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// An event hash recorded earlier, as printed by a previous verify
    /// (SEQ:HASH); repeat for several. Catches a trail rewritten with every
    /// hash recomputed, which the chain alone cannot.
    #[arg(long, value_name = "SEQ:HASH")]
    pub anchor: Vec<sclerad_store::Anchor>,
}

const ANALYZE_EXAMPLES: &str = "\
The bundle is validated first; a bundle with errors is not analysed (exit 1).
Writes into --out: results.json (the results contract), report.html (one
self-contained file), tables/*.csv, tables/tables.xlsx and figures/*.svg.

Settings (TOML; every key optional, defaults shown):
  yates = false                 # continuity correction of the 2x2 chi-square
  min_expected_count = 5.0      # chi-square when every expected count >= this, else Fisher
  normality_alpha = 0.05        # Welch t when both Shapiro-Wilk p >= this, else Mann-Whitney
  imaging_window_days = 365     # \"within the same year\"
  exclude_ineligible = false    # leave out patients outside the window or not meeting ACR/EULAR 2013
  reader = \"consensus\"          # whose readings give the lesion flags
  conf_level = 0.95
  pah_definition = \"...\"        # echoed in the report

Examples:
  sclerad analyze nancy-cohort/ --out results/
  sclerad analyze cohort.xlsx --out results/ --settings study.toml
  sclerad analyze cohort/ --out results/ --reader rad1 --exclude-ineligible";

const DEMO_EXAMPLES: &str = "\
The demo cohort has the Nancy abstract's marginals (77 patients, 68 women,
mean age 56.9, 55 lcSSc / 22 dcSSc, the published lesion counts) and
readings by two radiologists and their consensus. Beside the bundle: each
patient's synthetic hand radiograph and CT series (DICOM, drawn to agree
with the consensus readings, with made-up hospital identifiers) and their
map for `sclerad images import`.

Examples:
  sclerad demo
  sclerad demo --out /tmp/demo";

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The bundle: a folder, a .csv file or an .xlsx workbook.
    pub bundle: PathBuf,

    /// Folder for the results, created if needed and replaced as a whole by
    /// each run (it must hold nothing but an earlier run's results).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Study settings file (TOML).
    #[arg(long, value_name = "FILE.toml")]
    pub settings: Option<PathBuf>,

    /// Leave out patients whose CT and hand radiograph are more than the
    /// window apart, or who do not meet ACR/EULAR 2013.
    #[arg(long)]
    pub exclude_ineligible: bool,

    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo bundle and its results.
    #[arg(long, value_name = "DIR", default_value = "sclerad-demo")]
    pub out: PathBuf,

    /// Then try the server: import the demo bundle into DIR/sclerad.db,
    /// create one user per role with a random password, build blinded
    /// worklists for the two readers (some exams twice) and serve it.
    #[arg(long)]
    pub serve: bool,

    /// Address and port `--serve` listens on (port 0: any free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        requires = "serve"
    )]
    pub bind: std::net::SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// A 2×2 table: chi-square (with and without Yates), Fisher's exact
    /// test, conditional and Wald odds ratios, risk ratio.
    #[command(
        after_help = "a = exposed with outcome, b = exposed without, c = unexposed with,
d = unexposed without (R: matrix(c(a, c, b, d), nrow = 2)).

Examples:
  sclerad stats table 4 5 2 66
  sclerad stats table 4 5 2 66 --json"
    )]
    Table(TableArgs),
    /// Two groups: Welch and Student t, Mann–Whitney, Shapiro–Wilk of each.
    #[command(after_help = "Examples:
  sclerad stats groups --x 12.1,8.4,15.0,9.9 --y 5.2,7.7,6.1,4.9,8.0
  sclerad stats groups --x 1,2,3,4 --y 3,4,5,6 --json")]
    Groups(GroupsArgs),
    /// Survival of group 1 vs group 0: log-rank, Cox hazard ratio (Efron ties).
    #[command(
        after_help = "FILE.csv has columns time,event,group (event 1/0, group 1/0),
comma- or semicolon-separated.

Examples:
  sclerad stats survival follow-up.csv
  sclerad stats survival follow-up.csv --json"
    )]
    Survival(SurvivalArgs),
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// Exposed with the outcome.
    pub a: u64,
    /// Exposed without the outcome.
    pub b: u64,
    /// Unexposed with the outcome.
    pub c: u64,
    /// Unexposed without the outcome.
    pub d: u64,
    /// JSON output (null where not computable).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Values of the first group, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true,
        num_args = 1
    )]
    pub x: Vec<f64>,
    /// Values of the second group, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true,
        num_args = 1
    )]
    pub y: Vec<f64>,
    /// JSON output (null where not computable).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SurvivalArgs {
    /// CSV file with columns time,event,group.
    pub file: PathBuf,
    /// JSON output (null where not computable).
    #[arg(long)]
    pub json: bool,
}

const SYNTH_EXAMPLES: &str = "\
The cohort has plausible correlations between lesions and the clinical
picture (calcinosis with PAH, foraminal calcification with death, ...). The
same --seed always gives the same bundle.

Examples:
  sclerad synth --patients 500 --seed 7 --out cohort-500/
  sclerad synth --patients 200 --readings long --out multi-reader/
  sclerad synth --patients 1000000 --out big/ --force";

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of patients.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub patients: u64,

    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Folder to write the bundle into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Lesions as summary columns of patients.csv, or as long-format
    /// hand_readings.csv and spine_readings.csv.
    #[arg(long, value_enum, default_value_t = ReadingsArg::Summary)]
    pub readings: ReadingsArg,

    /// Readers of the long-format readings ('consensus' reads the truth, the
    /// others miss or add lesions now and then).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rad1,rad2,consensus",
        value_name = "NAMES"
    )]
    pub readers: Vec<String>,

    /// Replace a bundle already in the folder.
    #[arg(long)]
    pub force: bool,

    /// Also write, for each patient, a hand radiograph and a CT series
    /// that agree with the readings (DIR/images/, with made-up hospital
    /// identifiers to de-identify) and the map DIR/images-map.csv for
    /// `sclerad images import`. Needs --readings long.
    #[arg(long)]
    pub images: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadingsArg {
    /// Lesion columns in patients.csv.
    Summary,
    /// Long-format readings files.
    Long,
}

const VALIDATE_EXAMPLES: &str = "\
A bundle is a folder holding patients.csv (and optionally hand_readings.csv
and spine_readings.csv), a single .csv file read as patients, or an .xlsx
workbook with sheets patients, hand_readings, spine_readings.

Examples:
  sclerad validate nancy-cohort/
  sclerad validate cohort.xlsx --reader consensus
  sclerad validate export.csv --date-format dmy
  sclerad validate nancy-cohort/ --format json > problems.json
  sclerad validate nancy-cohort/ --derived derived.csv

Exit status: 0 no errors (warnings and notes may be listed), 1 the bundle
has errors, 2 usage or I/O error (e.g. the path does not exist).";

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The bundle: a folder, a .csv file or an .xlsx workbook.
    pub bundle: PathBuf,

    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Also write the derived per-patient variables (age, disease duration,
    /// imaging gap, ACR/EULAR 2013 score, lesion flags, spine_any…) to this
    /// CSV file; written only when the bundle has no errors.
    #[arg(long, value_name = "FILE.csv")]
    pub derived: Option<PathBuf>,
}

/// How a bundle is read; shared by every command that reads one.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Reader whose readings give the lesion flags (default: 'consensus' if
    /// present, else the only reader).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,

    /// How text dates are written. ISO YYYY-MM-DD is always accepted; 'dmy'
    /// also accepts DD/MM/YYYY. Dates are never guessed.
    #[arg(long, value_enum, default_value_t = DateFormatArg::Iso, value_name = "FORMAT")]
    pub date_format: DateFormatArg,

    /// The largest file read, in bytes, or with a unit: 500M, 2G (KiB, MiB,
    /// GiB). Only regular files are read: a pipe or a device is refused.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_file_size: u64,
}

/// A size in bytes: a whole number, optionally followed by K, M or G
/// (powers of 1024, an optional `B` or `iB` after them).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let number = upper
        .trim_end_matches("IB")
        .trim_end_matches('B')
        .trim_end();
    let (digits, shift) = match number.chars().last() {
        Some('K') => (&number[..number.len() - 1], 10),
        Some('M') => (&number[..number.len() - 1], 20),
        Some('G') => (&number[..number.len() - 1], 30),
        _ => (number, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{t:?} is not a size (a whole number of bytes, or 500M, 2G)"))?;
    n.checked_mul(1u64 << shift)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("{t:?} is not a size between 1 byte and 16 EiB"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateFormatArg {
    /// YYYY-MM-DD only.
    Iso,
    /// DD/MM/YYYY as well as YYYY-MM-DD.
    Dmy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// JSON for tools.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn sizes_take_binary_units() {
        use super::parse_size;
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size(" 3 mb "), Ok(3 << 20));
        for bad in ["", "0", "G", "1.5G", "-1", "lots", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
