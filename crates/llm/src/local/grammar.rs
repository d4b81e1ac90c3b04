//! Output constraints as llama.cpp GBNF grammars.

use crate::{Constraint, Error};

/// A JSON object, with bounded whitespace so that a constrained model cannot pad forever.
pub(crate) const JSON_OBJECT: &str = r#"
root   ::= object
value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( ws "," ws member )* )? ws "}"
member ::= string ws ":" ws value
array  ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] ) )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
ws     ::= [ \t\n]? [ \t\n]? [ \t\n]?
"#;

/// The GBNF grammar (start rule `root`) for a constraint.
pub(crate) fn to_gbnf(constraint: &Constraint) -> Result<String, Error> {
    match constraint {
        Constraint::Json => Ok(JSON_OBJECT.to_owned()),
        Constraint::Grammar(grammar) => Ok(grammar.clone()),
        Constraint::JsonSchema(schema) => {
            let schema = serde_json::to_string(schema).map_err(|e| Error::Grammar {
                detail: e.to_string(),
            })?;
            llama_cpp_2::json_schema_to_grammar(&schema).map_err(|e| Error::Grammar {
                detail: format!("JSON schema not supported by llama.cpp's converter: {e}"),
            })
        }
    }
}
