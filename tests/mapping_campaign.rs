//! Campaigns in mapping files: `[[campaign]]` tables parsed with their defaults, every mistake
//! refused with its file, line and column, added by `Mapping::run`, and applied to a durable
//! state once (a changed definition is refused).
#![cfg(feature = "mapping")]

use idstitch::behaviour::EventKind;
use idstitch::campaign::{CampaignSpec, Conversions};
use idstitch::mapping::{Mapping, MappingError};

const SOURCES: &str = r#"
[[source]]
name = "crm"
path = "crm.csv"
id = "id"
keys = { email = "email" }
[event_kinds]
webinar = "engagement"
"#;

fn parse(campaigns: &str) -> Result<Mapping, MappingError> {
    Mapping::from_str(&format!("{SOURCES}{campaigns}"), "/data")
}

#[test]
fn campaigns_parse_with_their_defaults_and_conversion_kinds() {
    let m = parse(
        r#"
[[campaign]]
name = "spring"
channel = "newsletter"
[[campaign]]
name = "webinar-invite"
channel = "invitation"
holdout = 0.1
salt = "2026"
conversions = ["webinar", "order"]
window_days = 30
"#,
    )
    .unwrap();
    let [spring, invite] = m.campaigns() else { panic!("two campaigns") };
    assert_eq!(spring, &CampaignSpec::new("spring", "newsletter"));
    assert_eq!((invite.holdout_bp, invite.salt.as_str()), (1_000, "2026"));
    assert_eq!(invite.window.len_days(), 30);
    let webinar = m.event_kind_registry().lookup("webinar").unwrap();
    assert_eq!(invite.conversions, Conversions::Kinds(vec![webinar, EventKind::ORDER]));
}

/// The one-line message of a mapping that must fail, with its place.
fn refused(campaigns: &str) -> String {
    match parse(campaigns) {
        Err(e @ MappingError::BadCampaign { .. }) => e.to_string(),
        other => panic!("not refused as a bad campaign: {other:?}"),
    }
}

#[test]
fn mistakes_are_refused_with_their_place() {
    let line = refused("[[campaign]]\nname = \"a\"\nchannel = \"email\"\nholdout = 1.5\n");
    assert_eq!(
        line,
        "<string>:12:11: key `campaign[1].holdout`: campaign \"a\": a share from 0 to 1"
    );
    let line = refused("[[campaign]]\nname = \"a\"\nchannel = \"email\"\nwindow_days = 91\n");
    assert!(line.contains("`campaign[1].window_days`: campaign \"a\": 1 to 90 days"), "{line}");
    let line =
        refused("[[campaign]]\nname = \"a\"\nchannel = \"email\"\nconversions = [\"buy\"]\n");
    assert!(line.contains("unknown event kind \"buy\""), "{line}");
    let twice = "[[campaign]]\nname = \"a\"\nchannel = \"email\"\n".repeat(2);
    assert!(refused(&twice).contains("`campaign[2].name`: campaign \"a\": defined twice"));
    let line = refused("[[campaign]]\nname = \" \"\nchannel = \"email\"\n");
    assert!(line.contains("non-empty"), "{line}");
    assert!(matches!(
        parse("[[campaign]]\nname = \"a\"\nchannel = \"email\"\nholdot = 0.1\n"),
        Err(MappingError::Toml { .. })
    ));
}

#[cfg(feature = "csv")]
mod loaded {
    use super::*;
    use idstitch::{Durable, DurableOptions};

    fn write_mapping(dir: &std::path::Path, holdout: f64) -> std::path::PathBuf {
        std::fs::write(dir.join("crm.csv"), "id,email\nC-1,a@x.nl\nC-2,b@x.nl\n").unwrap();
        let text = format!(
            "{SOURCES}[[campaign]]\nname = \"spring\"\nchannel = \"email\"\nholdout = {holdout}\n"
        );
        let path = dir.join("mapping.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn run_adds_the_campaigns_and_apply_adds_them_once() {
        let dir =
            std::env::temp_dir().join(format!("idstitch-map-campaign-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = write_mapping(&dir, 0.5);
        let mapping = Mapping::from_path(&path).unwrap();
        let run = mapping.run(64, |_| {}).unwrap();
        assert_eq!(run.resolver.campaigns(), mapping.campaigns());

        let state_dir = dir.join("state");
        let open = || {
            Durable::open_with(&state_dir, &mapping.resolver_builder(), DurableOptions::default())
        };
        let mut state = open().unwrap();
        mapping.apply(&mut state, 64, |_| {}).unwrap();
        let journal = state.journal_len();
        mapping.apply(&mut state, 64, |_| {}).unwrap();
        assert_eq!(state.journal_len(), journal, "the same campaign is not added twice");
        assert_eq!(state.campaigns(), mapping.campaigns());
        drop(state);

        let changed = Mapping::from_path(write_mapping(&dir, 0.3)).unwrap();
        let mut state = open().unwrap();
        match changed.apply(&mut state, 64, |_| {}) {
            Err(e @ MappingError::CampaignChanged { .. }) => {
                assert!(e.to_string().contains("campaign \"spring\" differs"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        drop(state);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
