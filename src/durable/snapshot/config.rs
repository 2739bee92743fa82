//! How is a resolver's configuration written into a snapshot, read back into a builder, and
//! compared with the host's (kinds, policies, phone country, verifiers of the secrets)?

use super::*;

/// The configuration bytes of a resolver: compared byte for byte when a snapshot is opened
/// with a builder.
pub(crate) fn encode_config(
    kinds: &[(String, KindSpec)],
    ctx: &NormalizeContext,
    pseudonymizer: Option<&Pseudonymizer>,
    suppression_secret: Option<&Pseudonymizer>,
    (event_kinds, stages, touchpoints): (&EventKinds, &StageSetup, &TouchpointRules),
    w: &mut Writer,
) {
    // Pseudonymised mode: a pseudonym of a value no normaliser gives, which tells whether a
    // builder holds the same secret without storing it.
    let mut verifier = String::new();
    if let Some(p) = pseudonymizer {
        p.push_pseudonym(SECRET_VERIFIER, &mut verifier);
    }
    w.str(&verifier);
    // Raw mode with a suppression secret: the same for that secret.
    verifier.clear();
    if let Some(p) = suppression_secret {
        p.push_pseudonym(SUPPRESSION_VERIFIER, &mut verifier);
    }
    w.str(&verifier);
    w.opt_var(ctx.default_calling_code.map(u64::from));
    w.var(kinds.len() as u64);
    for (name, spec) in kinds {
        w.str(name);
        w.u8(match spec.normalizer {
            Normalizer::Email => 0,
            Normalizer::EmailProviderRules => 1,
            Normalizer::Phone => 2,
            Normalizer::CustomerNo => 3,
            Normalizer::Ip => 4,
            Normalizer::Text => 5,
            Normalizer::Opaque => 6,
            Normalizer::Custom(_) => 7,
        });
        let p = &spec.policy;
        w.opt_var(p.limit.map(u64::from));
        w.var_i64(i64::from(p.priority));
        w.opt_var(p.generic_cap.map(u64::from));
        w.var(p.deny.len() as u64);
        for d in &p.deny {
            w.str(d);
        }
        w.u8(u8::from(p.builtin_placeholders));
        w.u8(u8::from(p.links));
        w.u8(u8::from(spec.identifying));
        match &spec.composite {
            None => w.u8(0),
            Some(fields) => {
                w.u8(1);
                w.var(fields.len() as u64);
                for f in fields {
                    w.str(f);
                }
            }
        }
    }
    // Host event kinds (the built-in ones come first, in a fixed order) and the stage rules.
    let host_kinds: Vec<_> = event_kinds.iter().skip(BUILT_IN_EVENT_KINDS.len()).collect();
    w.var(host_kinds.len() as u64);
    for (_, name, class) in host_kinds {
        w.str(name);
        w.u8(class.index() as u8);
    }
    match stages {
        StageSetup::Rules(rules) => {
            w.u8(0);
            let mut rules = rules.clone();
            let (windows, thresholds) = rule_fields(&mut rules);
            for window in windows {
                w.var(u64::from(window.len_days()));
            }
            for threshold in thresholds {
                w.var(u64::from(*threshold));
            }
        }
        StageSetup::Custom(_) => w.u8(1),
    }
    w.var(touchpoints.consent_free.len() as u64);
    for channel in &touchpoints.consent_free {
        w.str(channel);
    }
    w.var(touchpoints.caps.len() as u64);
    for rule in &touchpoints.caps {
        match &rule.scope {
            CapScope::EachChannel => w.u8(0),
            CapScope::AllChannels => w.u8(1),
            CapScope::Channel(channel) => {
                w.u8(2);
                w.str(channel);
            }
        }
        w.var(u64::from(rule.max));
        w.var(u64::from(rule.window.len_days()));
    }
}

/// The configuration bytes of a resolver's state.
pub(super) fn config_bytes(state: &StateRef<'_>) -> Vec<u8> {
    let mut config = Writer::default();
    let specs: Vec<(String, KindSpec)> =
        (state.kinds.entries.iter()).map(|e| (e.name.to_string(), e.spec.clone())).collect();
    let (pseudonymizer, suppression) =
        (state.kinds.pseudonymizer.as_ref(), state.suppression.secret());
    let journey = (state.event_kinds, state.journey.setup(), state.touchpoints);
    encode_config(&specs, state.ctx, pseudonymizer, suppression, journey, &mut config);
    config.buf
}

/// A builder configured as the snapshot's configuration says, or why a file cannot configure
/// one alone.
///
/// The flag says whether the file keys a suppression list with a raw-mode secret (whose
/// verifier the builder must then match).
#[allow(clippy::type_complexity)]
pub(super) fn decode_config(
    r: &mut Reader<'_>,
) -> Result<(Result<ResolverBuilder, SnapshotError>, bool), Malformed> {
    let pseudonymized = !r.str()?.is_empty();
    let suppression_keyed = !r.str()?.is_empty();
    let code = r.opt_var()?;
    let ctx = NormalizeContext {
        default_calling_code: code
            .map(|c| u16::try_from(c).map_err(|_| Malformed::Invalid("calling code")))
            .transpose()?,
    };
    let mut builder = ResolverBuilder::new();
    builder.context(ctx);
    let n = r.count(10)?;
    let mut custom = None;
    for _ in 0..n {
        let name = r.str()?.to_string();
        let normalizer = match r.u8()? {
            0 => Normalizer::Email,
            1 => Normalizer::EmailProviderRules,
            2 => Normalizer::Phone,
            3 => Normalizer::CustomerNo,
            4 => Normalizer::Ip,
            5 => Normalizer::Text,
            6 => Normalizer::Opaque,
            7 => {
                custom.get_or_insert(name.clone());
                Normalizer::Opaque
            }
            _ => return Err(Malformed::Invalid("normaliser")),
        };
        let to_u32 = |v: Option<u64>| {
            v.map(|v| u32::try_from(v).map_err(|_| Malformed::Invalid("limit or cap"))).transpose()
        };
        let limit = to_u32(r.opt_var()?)?;
        let priority =
            i32::try_from(r.var_i64()?).map_err(|_| Malformed::Invalid("kind priority"))?;
        let generic_cap = to_u32(r.opt_var()?)?;
        let n_deny = r.count(1)?;
        let deny = (0..n_deny).map(|_| r.str().map(str::to_string)).collect::<Result<_, _>>()?;
        let builtin_placeholders = r.bool()?;
        let links = r.bool()?;
        let identifying = r.bool()?;
        let composite = match r.u8()? {
            0 => None,
            1 => {
                let n = r.count(1)?;
                Some((0..n).map(|_| r.str().map(str::to_string)).collect::<Result<_, _>>()?)
            }
            _ => return Err(Malformed::Invalid("composite tag")),
        };
        let policy = KindPolicy { limit, priority, generic_cap, deny, builtin_placeholders, links };
        builder.kind(&name, KindSpec { normalizer, policy, composite, identifying });
    }
    let n = r.count(2)?;
    for _ in 0..n {
        let name = r.str()?;
        let class = EventClass::ALL
            .get(usize::from(r.u8()?))
            .copied()
            .ok_or(Malformed::Invalid("event class"))?;
        builder.event_kind(name, class);
    }
    let custom_stages = match r.u8()? {
        0 => {
            let mut rules = StageRules::default();
            let (windows, thresholds) = rule_fields(&mut rules);
            for window in windows {
                let days = u32::try_from(r.var()?).map_err(|_| Malformed::Invalid("window"))?;
                *window = Window::days(days);
            }
            for threshold in thresholds {
                *threshold =
                    u32::try_from(r.var()?).map_err(|_| Malformed::Invalid("threshold"))?;
            }
            builder.stage_rules(rules);
            false
        }
        1 => true,
        _ => return Err(Malformed::Invalid("stage setup")),
    };
    let n = r.count(1)?;
    let consent_free = (0..n).map(|_| r.str().map(str::to_string)).collect::<Result<_, _>>()?;
    let n = r.count(3)?;
    let mut caps = Vec::with_capacity(n);
    for _ in 0..n {
        let scope = match r.u8()? {
            0 => CapScope::EachChannel,
            1 => CapScope::AllChannels,
            2 => CapScope::Channel(r.str()?.to_string()),
            _ => return Err(Malformed::Invalid("cap scope")),
        };
        let max = u32::try_from(r.var()?).map_err(|_| Malformed::Invalid("cap"))?;
        let days = u32::try_from(r.var()?).map_err(|_| Malformed::Invalid("cap window"))?;
        caps.push(CapRule::new(scope, max, Window::days(days)));
    }
    let mut touchpoints = TouchpointRules::default();
    (touchpoints.consent_free, touchpoints.caps) = (consent_free, caps);
    builder.touchpoint_rules(touchpoints);
    let builder = match custom {
        _ if pseudonymized => Err(SnapshotError::SecretRequired),
        _ if custom_stages => Err(SnapshotError::CustomClassifier),
        Some(kind) => Err(SnapshotError::CustomNormalizer { kind }),
        None => Ok(builder),
    };
    Ok((builder, suppression_keyed))
}

/// The configuration bytes `builder` gives (with its suppression secret's verifier if
/// `with_suppression`).
pub(super) fn config_of(builder: &ResolverBuilder, with_suppression: bool) -> Vec<u8> {
    let (kinds, ctx, pseudonymizer) = builder.config();
    let suppression = builder.effective_suppression_secret().filter(|_| with_suppression);
    let mut mine = Writer::default();
    encode_config(kinds, ctx, pseudonymizer, suppression, builder.journey_config(), &mut mine);
    mine.buf
}

/// Names the first difference between a snapshot's configuration and a builder's.
pub(super) fn describe_mismatch(
    from_file: Result<ResolverBuilder, SnapshotError>,
    file_keyed: bool,
    builder: &ResolverBuilder,
) -> String {
    let pseudonymized = builder.config().2.is_some();
    let keyed = builder.effective_suppression_secret().is_some();
    let file = match from_file {
        Ok(_) if pseudonymized => return "the snapshot is not pseudonymised".to_string(),
        Ok(_) if file_keyed && !keyed => {
            return "the snapshot keys its suppression list with a secret".to_string()
        }
        Ok(_) if file_keyed => {
            return "another suppression secret, or other kinds or policies".to_string()
        }
        Ok(file) => file,
        Err(SnapshotError::SecretRequired) if pseudonymized => {
            return "another pseudonymisation secret, or other kinds or policies".to_string()
        }
        Err(SnapshotError::SecretRequired) => return "the snapshot is pseudonymised".to_string(),
        Err(_) => return "kinds or their policies".to_string(),
    };
    let (theirs, their_ctx, _) = file.config();
    let (mine, my_ctx, _) = builder.config();
    if their_ctx != my_ctx {
        return "default phone country".to_string();
    }
    if file.journey_config().2 != builder.journey_config().2 {
        return "touchpoint rules (consent-free channels or caps)".to_string();
    }
    for (i, (name, spec)) in mine.iter().enumerate() {
        match theirs.get(i) {
            None => return format!("kind {name:?} is not in the snapshot"),
            Some((n, _)) if n != name => return format!("kind {name:?} is {n:?} in the snapshot"),
            Some((_, s)) if format!("{s:?}") != format!("{spec:?}") => {
                return format!("kind {name:?} is configured differently")
            }
            _ => {}
        }
    }
    match theirs.get(mine.len()) {
        Some((n, _)) => format!("the snapshot has kind {n:?}"),
        None => "kinds or their policies".to_string(),
    }
}

/// The stage rules' windows and thresholds, in the order a snapshot keeps them.
fn rule_fields(r: &mut StageRules) -> ([&mut Window; 8], [&mut u32; 6]) {
    (
        [
            &mut r.lapsed_window,
            &mut r.lapsing_quiet,
            &mut r.lapsing_lookback,
            &mut r.loyal_window,
            &mut r.customer_window,
            &mut r.engaged_window,
            &mut r.cross_sell_window,
            &mut r.cross_sell_purchase_window,
        ],
        [
            &mut r.lapsing_min_engagement,
            &mut r.lapsing_min_purchases,
            &mut r.loyal_min_purchases,
            &mut r.customer_min_purchases,
            &mut r.engaged_min_engagement,
            &mut r.cross_sell_min_engagement,
        ],
    )
}
