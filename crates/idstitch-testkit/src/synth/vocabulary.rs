//! What names the generator draws from: Dutch given names, surnames, cities, e-mail providers
//! and company names. All ASCII; slugs (lower-case letters only) are unique within each list.

use super::digits::push_u64;

#[rustfmt::skip]
pub(super) const GIVEN_NAMES: &[&str] = &[
    "Emma", "Julia", "Sophie", "Tess", "Anna", "Sara", "Fleur", "Lisa", "Eva", "Noor", "Lotte",
    "Sanne", "Iris", "Femke", "Anouk", "Lieke", "Maud", "Roos", "Esmee", "Isa", "Mila", "Zoe",
    "Maria", "Johanna", "Cornelia", "Wilhelmina", "Hendrika", "Elisabeth", "Anja", "Petra",
    "Monique", "Ingrid", "Marieke", "Linda", "Sandra", "Karin", "Mirjam", "Ellen", "Ilse", "Yvonne",
    "Annemiek", "Jolanda", "Wendy", "Manon", "Kim", "Chantal", "Nicole", "Bianca", "Naomi",
    "Fatima", "Samira", "Yasmina", "Ans", "Truus", "Jan", "Piet", "Kees", "Henk", "Gerrit",
    "Willem", "Johannes", "Cornelis", "Hendrik", "Pieter", "Jacob", "Dirk", "Klaas", "Bram", "Daan",
    "Sem", "Lucas", "Finn", "Levi", "Milan", "Thijs", "Jesse", "Ruben", "Lars", "Stijn", "Tim",
    "Tom", "Bas", "Niels", "Joost", "Marco", "Peter", "Martijn", "Sander", "Erik", "Frank", "Rob",
    "Hans", "Jeroen", "Wouter", "Maarten", "Remco", "Dennis", "Mark", "Vincent", "Bart", "Koen",
    "Rick", "Mohamed", "Ahmed", "Youssef", "Mehmet", "Emre", "Arjen", "Ruud", "Gert", "Ton", "Wim",
    "Theo", "Jos", "Ad", "Guus", "Teun", "Sven",
];

#[rustfmt::skip]
pub(super) const SURNAMES: &[&str] = &[
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
    "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen",
    "van den Broek", "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems",
    "van Vliet", "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal",
    "Prins", "Blom", "Huisman", "Peeters", "de Jonge", "Kuipers", "van Veen", "Post", "Kuiper",
    "Veenstra", "Kramer", "van den Brink", "Scholten", "van Wijk", "Postma", "Martens", "Vink",
    "de Ruiter", "Timmermans", "Groen", "Gerritsen", "Jonker", "van Loon", "Boer", "van der Velde",
    "Willemsen", "Smeets", "de Lange", "de Vos", "Bosch", "van Dongen", "Schipper", "de Koning",
    "van der Laan", "Koning", "van der Velden", "Driessen", "van Doorn", "Hermans", "Evers",
    "van den Bosch", "van der Meulen", "Hofman", "Bosman", "Wolters", "Sanders", "van der Horst",
    "Mol", "Kuijpers", "Molenaar", "van de Pol", "de Leeuw", "Verbeek", "Tromp", "Wouters", "Koch",
    "Verschuren", "Mertens", "Lammers", "Claassen", "Aerts", "Hoogendoorn", "Wijnen", "Jongsma",
    "Franken", "Nijhuis", "Kroon", "Zijlstra", "Bijl", "Heijnen", "van Rijn", "Verweij",
    "Oosterhuis", "Terpstra", "Hagen", "Wagenaar", "Bouma", "Sluiter", "Kaya", "Yilmaz",
    "El Amrani", "Bouzid", "Ozturk", "Nguyen", "Pinas", "Martina", "Gielen", "Pauwels", "Veldman",
    "Bussink", "Stam", "Keizer", "Rutten", "Brink", "van Es", "Overbeek", "Roos", "Zwart", "Pool",
    "Hoek", "Bergsma", "Boersma", "Brands", "Cornelissen", "Damen", "Ebbers", "Fokkema",
];

/// `(city, alias, area code, first postcode, number of postcodes)`.
pub(super) const CITIES: &[(&str, &str, u8, u16, u16)] = &[
    ("Amsterdam", "", 20, 1011, 98),
    ("Rotterdam", "", 10, 3011, 78),
    ("Den Haag", "'s-Gravenhage", 70, 2491, 108),
    ("Utrecht", "", 30, 3511, 74),
    ("Eindhoven", "", 40, 5611, 47),
    ("Groningen", "", 50, 9711, 36),
    ("Tilburg", "", 13, 5011, 38),
    ("Almere", "", 36, 1311, 53),
    ("Breda", "", 76, 4811, 28),
    ("Nijmegen", "", 24, 6511, 35),
    ("Arnhem", "", 26, 6811, 35),
    ("Haarlem", "", 23, 2011, 26),
    ("Enschede", "", 53, 7511, 37),
    ("Zwolle", "", 38, 8011, 32),
    ("Leiden", "", 71, 2311, 23),
    ("Maastricht", "", 43, 6211, 18),
    ("Amersfoort", "", 33, 3811, 18),
    ("Apeldoorn", "", 55, 7311, 28),
    ("'s-Hertogenbosch", "Den Bosch", 73, 5211, 26),
    ("Leeuwarden", "", 58, 8911, 28),
];

/// Letters of Dutch postcodes (the ones actually in use).
pub(super) const POSTCODE_LETTERS: &[u8] = b"ABCDEGHJKLMNPRSTVWXZ";

#[rustfmt::skip]
pub(super) const PROVIDERS: &[&str] = &[
    "gmail.com", "gmail.com", "gmail.com", "hotmail.com", "hotmail.com", "outlook.com", "ziggo.nl",
    "kpnmail.nl", "live.nl", "xs4all.nl", "icloud.com", "yahoo.com", "proton.me",
];

#[rustfmt::skip]
pub(super) const OLD_PROVIDERS: &[&str] = &[
    "hetnet.nl", "planet.nl", "home.nl", "wanadoo.nl", "chello.nl", "zonnet.nl", "tiscali.nl",
    "hotmail.com", "quicknet.nl", "casema.nl",
];

/// The publisher's titles (made up): topics of reading, newsletters and subscriptions.
#[rustfmt::skip]
pub(super) const TITLES: &[&str] = &[
    "Tuinkrant", "Zeilen Nu", "Kookschrift", "Fietsplus", "Wonen & Licht", "Reisgids Noord",
    "Puzzelpret", "Geld & Zo", "Oud Holland", "Natuurwijzer", "Motorwereld", "Kinderkrant",
];

/// What the web shop sells besides subscriptions: topics of orders.
#[rustfmt::skip]
pub(super) const PRODUCTS: &[&str] = &[
    "Kookboek Seizoenen", "Puzzelboek Winter", "Fietsroutes Veluwe", "Tuinkalender 2026",
    "Reisgids Friesland", "Leesbril", "Tuinschaar", "Jubileumeditie", "Verzamelmap",
    "Cadeaubon",
];

/// Search queries on the publisher's sites.
#[rustfmt::skip]
pub(super) const SEARCHES: &[&str] = &[
    "pompoensoep", "fietsroute veluwe", "moestuin beginnen", "zeilen ijsselmeer", "kruiswoord",
    "hypotheek rente", "vogels spotten", "oldtimer kopen", "appeltaart", "camping drenthe",
    "sudoku", "zonnepanelen",
];

/// The publisher's events: topics of visits.
pub(super) const EVENT_NAMES: &[&str] =
    &["Tuinbeurs Utrecht", "Kookfestival", "Fietsdag", "Lezersdag", "Puzzelkampioenschap"];

/// Why customers contact customer service: topics of tickets and complaints.
pub(super) const SERVICE_TOPICS: &[&str] =
    &["bezorging", "factuur", "adreswijziging", "opzeggen", "inloggen", "beschadigd"];

#[rustfmt::skip]
const COMPANY_PREFIXES: &[&str] = &[
    "Van Dijk", "Noorderlicht", "Delta", "Polder", "Oranje", "Holland", "Tulp", "Molen", "Zuidas",
    "Kanaal", "Dijkstra", "Bakker", "Vos", "Zeeland", "Brabant", "Friesland", "Utrechtse", "Amstel",
    "Maas", "Rijn", "Waal", "IJssel", "Veluwe", "Kempen", "Duin", "Horizon", "Kompas", "Lindeboom",
    "Eikenhof", "Zonneveld", "Groenewoud", "Blauwe Dijk", "Hanze", "Noordzee", "Westland",
    "Oosterhout", "Kroonenberg", "Vlietland", "Helder", "Stadhouder",
];

#[rustfmt::skip]
const COMPANY_SUFFIXES: &[&str] = &[
    "Media", "Techniek", "Logistiek", "Advies", "Bouw", "Zorg", "ICT", "Accountants", "Uitgevers",
    "Groep", "Installaties", "Design", "Consultancy", "Makelaars", "Transport", "Juristen",
    "Energie", "Software", "Drukkerij", "Communicatie", "Verzekeringen", "Vastgoed", "Catering",
    "Opleidingen", "Security", "Marketing", "Finance", "Architecten", "Data", "Retail",
];

/// The company's name and domain part: a unique pair of prefix and suffix, and a number for
/// companies beyond the pairs.
fn company_parts(company: u32) -> (&'static str, &'static str, u32) {
    let pairs = (COMPANY_PREFIXES.len() * COMPANY_SUFFIXES.len()) as u32;
    // 7 is prime to the number of pairs (1200), so this is a bijection.
    let pair = (company % pairs * 7 + 11) % pairs;
    let prefix = COMPANY_PREFIXES[(pair % COMPANY_PREFIXES.len() as u32) as usize];
    let suffix = COMPANY_SUFFIXES[(pair / COMPANY_PREFIXES.len() as u32) as usize];
    (prefix, suffix, company / pairs)
}

pub(super) fn push_company_name(out: &mut String, company: u32) {
    let (prefix, suffix, generation) = company_parts(company);
    out.push_str(prefix);
    out.push(' ');
    out.push_str(suffix);
    if generation > 0 {
        out.push(' ');
        push_u64(out, u64::from(generation) + 1);
    }
}

pub(super) fn push_company_domain(out: &mut String, company: u32) {
    let (prefix, suffix, generation) = company_parts(company);
    push_slug(out, prefix);
    push_slug(out, suffix);
    if generation > 0 {
        push_u64(out, u64::from(generation) + 1);
    }
    out.push_str(".nl");
}

/// Lower-case letters of `name` only (`van den Berg` → `vandenberg`).
fn push_slug(out: &mut String, name: &str) {
    out.extend(
        name.bytes().filter(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase() as char),
    );
}

pub(super) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_slug(&mut out, name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn vocabulary_is_ascii_with_unique_slugs() {
        for list in [GIVEN_NAMES, SURNAMES, COMPANY_PREFIXES, COMPANY_SUFFIXES] {
            assert!(list.iter().all(|s| s.is_ascii() && s.len() >= 2));
            let slugs: HashSet<String> = list
                .iter()
                .map(|s| {
                    let mut slug = String::new();
                    push_slug(&mut slug, s);
                    slug
                })
                .collect();
            assert_eq!(slugs.len(), list.len());
        }
        for list in [TITLES, PRODUCTS, SEARCHES, EVENT_NAMES, SERVICE_TOPICS] {
            assert_eq!(list.iter().collect::<HashSet<_>>().len(), list.len());
        }
        let domains: HashSet<String> = (0..5_000)
            .map(|c| {
                let mut d = String::new();
                push_company_domain(&mut d, c);
                d
            })
            .collect();
        assert_eq!(domains.len(), 5_000);
    }
}
