//! docs/OUTPUT.md and the written schema agree: every table's columns, in order, with their types.

use arrow_schema::DataType;

fn doc_type(data_type: &DataType, nullable: bool) -> String {
    let base = match data_type {
        DataType::Int64 => "int64".to_string(),
        DataType::UInt64 => "uint64".to_string(),
        DataType::UInt32 => "uint32".to_string(),
        DataType::Float64 => "float64".to_string(),
        DataType::Float32 => "float32".to_string(),
        DataType::Boolean => "bool".to_string(),
        DataType::Dictionary(k, v) if **k == DataType::UInt8 && **v == DataType::Utf8 => {
            "dictionary<uint8, utf8>".to_string()
        }
        DataType::Dictionary(k, v) if **k == DataType::UInt16 && **v == DataType::Utf8 => {
            "dictionary<uint16, utf8>".to_string()
        }
        other => panic!("type {other} has no documented name"),
    };
    if nullable { format!("{base}, nullable") } else { base }
}

/// (column, type) rows of the markdown table under `## <table>`.
fn documented(doc: &str, table: &str) -> Vec<(String, String)> {
    let start = doc.find(&format!("\n## {table}\n")).unwrap_or_else(|| panic!("docs/OUTPUT.md has no section {table}"));
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn output_doc_matches_the_written_schema() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/OUTPUT.md")).unwrap();
    for table in bondsim_io::TABLES {
        let schema = bondsim_io::tables::schema(table).unwrap();
        let written: Vec<(String, String)> =
            schema.fields().iter().map(|f| (f.name().clone(), doc_type(f.data_type(), f.is_nullable()))).collect();
        assert_eq!(documented(&doc, table), written, "docs/OUTPUT.md section {table}");
    }
    assert!(doc.contains(&format!("**Schema version**: `{}`", bondsim_io::SCHEMA_VERSION)));
}

#[test]
fn output_doc_lists_every_manifest_field() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/OUTPUT.md")).unwrap();
    let fields = documented(&doc, "manifest.json");
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let sample = serde_json::to_value(bondsim_io::Manifest::starting("r", "run=r", None, String::new(), 0, 1)).unwrap();
    let keys: Vec<&str> = sample.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(sorted_names, sorted_keys);
}
