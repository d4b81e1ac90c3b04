//! MathJax in running text to readable plain-text math.
//!
//! Cross Validated writes math as TeX between `$…$` (inline) or `$$…$$` (display), which MathJax
//! renders in the browser. Stripping it would lose the content of most statistics answers, and
//! keeping raw TeX is noisy for retrieval and training, so the TeX is rewritten into the Unicode a
//! person would type: `$\hat\sigma^2 \le \frac{1}{n}$` becomes `σ̂^2 ≤ 1/n`. Anything not
//! recognised is kept (a command loses only its backslash), so no math is ever dropped.

/// Rewrites every math span of `text` (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`); `\$` is a literal
/// dollar. An unmatched delimiter is kept as it is.
pub fn convert_math(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find(['$', '\\']) {
        out.push_str(&rest[..index]);
        let tail = &rest[index..];
        if let Some(after) = tail.strip_prefix("\\$") {
            out.push('$');
            rest = after;
            continue;
        }
        let (open, close) = if tail.starts_with("$$") {
            ("$$", "$$")
        } else if tail.starts_with('$') {
            ("$", "$")
        } else if tail.starts_with("\\(") {
            ("\\(", "\\)")
        } else if tail.starts_with("\\[") {
            ("\\[", "\\]")
        } else {
            out.push('\\');
            rest = &tail[1..];
            continue;
        };
        let body = &tail[open.len()..];
        match find_close(body, close) {
            Some(end) if !body[..end].trim().is_empty() => {
                out.push_str(&latex_to_text(&body[..end]));
                rest = &body[end + close.len()..];
            }
            _ => {
                out.push_str(open);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first unescaped `close` in `body`.
fn find_close(body: &str, close: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(offset) = body[from..].find(close) {
        let at = from + offset;
        let escaped = close == "$" && body[..at].ends_with('\\');
        if !escaped {
            return Some(at);
        }
        from = at + close.len();
    }
    None
}

/// Rewrites one TeX math expression as plain text.
pub fn latex_to_text(tex: &str) -> String {
    let chars: Vec<char> = tex.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    let text = parser.sequence(None);
    tidy(&text)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Converts tokens until `end` (not consumed by the caller: it is consumed here) or the end.
    fn sequence(&mut self, end: Option<char>) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == end {
                self.pos += 1;
                return out;
            }
            out.push_str(&self.token());
        }
        out
    }

    /// One token: a command, a group, a script, or a character.
    fn token(&mut self) -> String {
        let Some(c) = self.peek() else {
            return String::new();
        };
        self.pos += 1;
        match c {
            '\\' => self.command(),
            '{' => self.sequence(Some('}')),
            '}' => String::new(),
            '^' | '_' => {
                let argument = self.argument();
                let argument = argument.trim();
                if argument.chars().count() <= 1 || is_simple(argument) {
                    format!("{c}{argument}")
                } else {
                    format!("{c}({argument})")
                }
            }
            '~' | '&' => " ".into(),
            other => other.to_string(),
        }
    }

    /// A command's argument: a `{group}` or the next single token.
    fn argument(&mut self) -> String {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.sequence(Some('}'))
            }
            Some(_) => self.token(),
            None => String::new(),
        }
    }

    fn optional_argument(&mut self) -> Option<String> {
        if self.peek() == Some('[') {
            self.pos += 1;
            Some(self.sequence(Some(']')))
        } else {
            None
        }
    }

    fn command(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        if self.pos == start {
            // A one-character command: spacing or an escaped symbol.
            let Some(c) = self.peek() else {
                return String::new();
            };
            self.pos += 1;
            return match c {
                ',' | ';' | ':' | ' ' => " ".into(),
                '!' => String::new(),
                '\\' => "; ".into(),
                '|' => "‖".into(),
                other => other.to_string(),
            };
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        match name.as_str() {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let numerator = self.argument();
                let denominator = self.argument();
                format!("{}/{}", wrap(&numerator), wrap(&denominator))
            }
            "binom" | "dbinom" | "tbinom" | "choose" => {
                let n = self.argument();
                let k = self.argument();
                format!("C({}, {})", n.trim(), k.trim())
            }
            "sqrt" => {
                let index = self.optional_argument();
                let radicand = self.argument();
                match index {
                    Some(index) => format!("{}√{}", index.trim(), wrap(&radicand)),
                    None => format!("√{}", wrap(&radicand)),
                }
            }
            "text" | "textrm" | "textit" | "textbf" | "textsf" | "texttt" | "mathrm" | "mathit"
            | "mathbf" | "mathsf" | "mathtt" | "mathcal" | "mathbb" | "mathscr" | "mathfrak"
            | "boldsymbol" | "bm" | "mbox" | "operatorname" | "emph" => self.argument(),
            "hat" | "widehat" => accent(&self.argument(), '\u{302}'),
            "bar" | "overline" => accent(&self.argument(), '\u{304}'),
            "tilde" | "widetilde" => accent(&self.argument(), '\u{303}'),
            "dot" => accent(&self.argument(), '\u{307}'),
            "ddot" => accent(&self.argument(), '\u{308}'),
            "vec" => accent(&self.argument(), '\u{20D7}'),
            "begin" | "end" => {
                self.argument();
                " ".into()
            }
            "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "biggl" | "biggr" | "big"
            | "Big" | "bigg" | "Bigg" | "middle" => {
                // The delimiter that follows is printed by the next token; `\left.` prints nothing.
                if self.peek() == Some('.') {
                    self.pos += 1;
                }
                String::new()
            }
            "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "nolimits" | "nonumber"
            | "notag" => String::new(),
            "quad" | "qquad" | "enspace" | "thinspace" => " ".into(),
            other => match symbol(other) {
                Some(symbol) => symbol.to_owned(),
                None => other.to_owned(),
            },
        }
    }
}

/// Whether `text` reads unambiguously without parentheses after `/`, `^` or `_`.
fn is_simple(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '\'' || is_combining(c))
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36F | 0x20D0..=0x20FF)
}

fn wrap(text: &str) -> String {
    let text = text.trim();
    if is_simple(text) {
        text.to_owned()
    } else {
        format!("({text})")
    }
}

fn accent(base: &str, mark: char) -> String {
    let base = base.trim();
    if base.chars().count() == 1 {
        format!("{base}{mark}")
    } else {
        format!("{}{mark}", wrap(base))
    }
}

/// Collapses runs of spaces and trims.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "epsilon" => "ϵ",
        "varepsilon" => "ε",
        "zeta" => "ζ",
        "eta" => "η",
        "theta" => "θ",
        "vartheta" => "ϑ",
        "iota" => "ι",
        "kappa" => "κ",
        "lambda" => "λ",
        "mu" => "μ",
        "nu" => "ν",
        "xi" => "ξ",
        "pi" => "π",
        "rho" => "ρ",
        "sigma" => "σ",
        "tau" => "τ",
        "upsilon" => "υ",
        "phi" => "ϕ",
        "varphi" => "φ",
        "chi" => "χ",
        "psi" => "ψ",
        "omega" => "ω",
        "Gamma" => "Γ",
        "Delta" => "Δ",
        "Theta" => "Θ",
        "Lambda" => "Λ",
        "Xi" => "Ξ",
        "Pi" => "Π",
        "Sigma" => "Σ",
        "Upsilon" => "Υ",
        "Phi" => "Φ",
        "Psi" => "Ψ",
        "Omega" => "Ω",
        "le" | "leq" | "leqslant" => "≤",
        "ge" | "geq" | "geqslant" => "≥",
        "ne" | "neq" => "≠",
        "lt" => "<",
        "gt" => ">",
        "approx" => "≈",
        "sim" => "~",
        "simeq" => "≃",
        "cong" => "≅",
        "equiv" => "≡",
        "propto" => "∝",
        "ll" => "≪",
        "gg" => "≫",
        "times" => "×",
        "cdot" | "cdotp" => "·",
        "div" => "÷",
        "ast" => "*",
        "star" => "⋆",
        "circ" => "∘",
        "pm" => "±",
        "mp" => "∓",
        "infty" => "∞",
        "sum" => "∑",
        "prod" => "∏",
        "int" => "∫",
        "oint" => "∮",
        "partial" => "∂",
        "nabla" => "∇",
        "in" => "∈",
        "notin" => "∉",
        "ni" => "∋",
        "subset" => "⊂",
        "subseteq" => "⊆",
        "supset" => "⊃",
        "supseteq" => "⊇",
        "cup" => "∪",
        "cap" => "∩",
        "setminus" => "∖",
        "emptyset" | "varnothing" => "∅",
        "forall" => "∀",
        "exists" => "∃",
        "neg" | "lnot" => "¬",
        "land" | "wedge" => "∧",
        "lor" | "vee" => "∨",
        "to" | "rightarrow" => "→",
        "leftarrow" | "gets" => "←",
        "Rightarrow" | "implies" => "⇒",
        "Leftarrow" => "⇐",
        "Leftrightarrow" | "iff" => "⇔",
        "leftrightarrow" => "↔",
        "mapsto" => "↦",
        "uparrow" => "↑",
        "downarrow" => "↓",
        "mid" | "vert" | "lvert" | "rvert" => "|",
        "Vert" | "lVert" | "rVert" | "parallel" => "‖",
        "perp" | "bot" => "⊥",
        "top" => "⊤",
        "langle" => "⟨",
        "rangle" => "⟩",
        "lfloor" => "⌊",
        "rfloor" => "⌋",
        "lceil" => "⌈",
        "rceil" => "⌉",
        "lbrace" => "{",
        "rbrace" => "}",
        "ldots" | "dots" | "dotsc" | "dotsb" => "…",
        "cdots" => "⋯",
        "vdots" => "⋮",
        "ddots" => "⋱",
        "prime" => "′",
        "degree" => "°",
        "ell" => "ℓ",
        "hbar" => "ℏ",
        "aleph" => "ℵ",
        "Re" => "ℜ",
        "Im" => "ℑ",
        "iid" => "i.i.d.",
        "percent" => "%",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_examples() {
        let cases = [
            (r"$\alpha = 0.05$", "α = 0.05"),
            (r"$$\hat\sigma^2 \le \frac{1}{n}$$", "σ̂^2 ≤ 1/n"),
            (r"$\frac{\bar{x} - \mu_0}{s/\sqrt{n}}$", "(x̄ - μ_0)/(s/√n)"),
            (r"$\sum_{i=1}^{n} x_i^2$", "∑_(i=1)^n x_i^2"),
            (r"$P(A \mid B) \neq P(B \mid A)$", "P(A | B) ≠ P(B | A)"),
            (r"costs \$5 and \$10", "costs $5 and $10"),
            (r"\(z_{1-\alpha/2}\)", "z_(1-α/2)"),
            (
                r"$\text{Var}(\hat{\beta}) = \sigma^2 (X^T X)^{-1}$",
                "Var(β̂) = σ^2 (X^T X)^(-1)",
            ),
            (r"a lone $ sign", "a lone $ sign"),
            (r"$\left( \frac{a+b}{2} \right)$", "( (a+b)/2 )"),
            (r"$\sqrt[3]{x}$ and $\binom{n}{k}$", "3√x and C(n, k)"),
            (r"$\unknowncommand{x}$", "unknowncommandx"),
        ];
        for (input, expected) in cases {
            assert_eq!(convert_math(input), expected, "input {input}");
        }
    }
}
