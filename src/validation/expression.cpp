// The rule expression language: a tokenizer, a precedence-climbing parser to a tree, and a
// tree-walking evaluator over one record.

#include <cmath>
#include <variant>

#include "common/text.h"
#include "validation/engine.h"

namespace c19ai::validation::internal {

namespace {

struct Value {
  enum Kind { kNull, kNum, kStr, kBool } kind = kNull;
  double num = 0;
  std::string str;
  bool b = false;
  static Value Num(double v) { Value x; x.kind = kNum; x.num = v; return x; }
  static Value Str(std::string v) { Value x; x.kind = kStr; x.str = std::move(v); return x; }
  static Value Bool(bool v) { Value x; x.kind = kBool; x.b = v; return x; }
};

enum class Tok { kNum, kStr, kIdent, kOp, kLParen, kRParen, kComma, kEnd };
struct Token {
  Tok type;
  std::string text;
  double num = 0;
  size_t pos = 0;
};

Error ExprError(size_t pos, const std::string& message) {
  Error e = Error::Field("expression", "expression, at character " + std::to_string(pos + 1) + ": " + message);
  return e;
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token t{Tok::kEnd, "", 0, i};
    if ((c >= '0' && c <= '9') || (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == 'e' ||
                              s[j] == 'E' || ((s[j] == '-' || s[j] == '+') && j > i && (s[j - 1] == 'e' || s[j - 1] == 'E')))) {
        ++j;
      }
      t.type = Tok::kNum;
      t.text = std::string(s.substr(i, j - i));
      if (!ParseFloat(t.text, t.num)) return ExprError(i, "malformed number \"" + t.text + "\"");
      i = j;
    } else if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      std::string v;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        v += s[j++];
      }
      if (j >= s.size()) return ExprError(i, "unterminated quote");
      t.type = c == '`' ? Tok::kIdent : Tok::kStr;
      t.text = std::move(v);
      i = j + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.')) ++j;
      t.type = Tok::kIdent;
      t.text = std::string(s.substr(i, j - i));
      std::string l = ToLower(t.text);
      if (l == "and" || l == "or" || l == "not") {
        t.type = Tok::kOp;
        t.text = l;
      }
      i = j;
    } else if (c == '(') {
      t.type = Tok::kLParen, ++i;
    } else if (c == ')') {
      t.type = Tok::kRParen, ++i;
    } else if (c == ',') {
      t.type = Tok::kComma, ++i;
    } else {
      static const char* kOps[] = {"==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "="};
      bool found = false;
      for (const char* op : kOps) {
        size_t n = std::strlen(op);
        if (s.substr(i, n) == op) {
          t.type = Tok::kOp;
          t.text = op;
          if (t.text == "&&") t.text = "and";
          if (t.text == "||") t.text = "or";
          if (t.text == "!") t.text = "not";
          if (t.text == "=") t.text = "==";
          i += n;
          found = true;
          break;
        }
      }
      if (!found) return ExprError(i, std::string("unexpected character '") + c + "'");
    }
    out.push_back(std::move(t));
  }
  out.push_back({Tok::kEnd, "", 0, s.size()});
  return out;
}

struct Node {
  enum Kind { kLit, kCol, kUnary, kBinary, kCall } kind = kLit;
  Value lit;
  std::string name;  // column, operator or function
  int column = -1;
  std::vector<std::unique_ptr<Node>> args;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Result<std::unique_ptr<Node>> Parse() {
    C19_ASSIGN_OR_RETURN(auto n, Binary(0));
    if (t_[i_].type != Tok::kEnd) return ExprError(t_[i_].pos, "unexpected \"" + t_[i_].text + "\"");
    return n;
  }

 private:
  static int Prec(const std::string& op) {
    if (op == "or") return 1;
    if (op == "and") return 2;
    if (op == "==" || op == "!=") return 3;
    if (op == "<" || op == "<=" || op == ">" || op == ">=") return 4;
    if (op == "+" || op == "-") return 5;
    if (op == "*" || op == "/" || op == "%") return 6;
    return -1;
  }

  Result<std::unique_ptr<Node>> Binary(int min_prec) {
    C19_ASSIGN_OR_RETURN(auto lhs, Unary());
    for (;;) {
      const Token& t = t_[i_];
      if (t.type != Tok::kOp) break;
      int p = Prec(t.text);
      if (p < 0 || p < min_prec) break;
      std::string op = t.text;
      ++i_;
      C19_ASSIGN_OR_RETURN(auto rhs, Binary(p + 1));
      auto n = std::make_unique<Node>();
      n->kind = Node::kBinary;
      n->name = op;
      n->args.push_back(std::move(lhs));
      n->args.push_back(std::move(rhs));
      lhs = std::move(n);
    }
    return lhs;
  }

  Result<std::unique_ptr<Node>> Unary() {
    const Token& t = t_[i_];
    if (t.type == Tok::kOp && (t.text == "not" || t.text == "-")) {
      std::string op = t.text;
      ++i_;
      C19_ASSIGN_OR_RETURN(auto operand, op == "not" ? Binary(3) : Unary());
      auto n = std::make_unique<Node>();
      n->kind = Node::kUnary;
      n->name = op;
      n->args.push_back(std::move(operand));
      return n;
    }
    return Primary();
  }

  Result<std::unique_ptr<Node>> Primary() {
    const Token t = t_[i_];
    auto n = std::make_unique<Node>();
    switch (t.type) {
      case Tok::kNum:
        ++i_;
        n->lit = Value::Num(t.num);
        return n;
      case Tok::kStr:
        ++i_;
        n->lit = Value::Str(t.text);
        return n;
      case Tok::kLParen: {
        ++i_;
        C19_ASSIGN_OR_RETURN(auto inner, Binary(0));
        if (t_[i_].type != Tok::kRParen) return ExprError(t_[i_].pos, "expected ')'");
        ++i_;
        return inner;
      }
      case Tok::kIdent: {
        ++i_;
        std::string l = ToLower(t.text);
        if (l == "true" || l == "false") {
          n->lit = Value::Bool(l == "true");
          return n;
        }
        if (l == "null") return n;
        if (t_[i_].type == Tok::kLParen) {
          static const char* kFns[] = {"is_null", "not_null", "len", "length", "abs", "lower", "upper", "coalesce"};
          bool known = false;
          for (const char* f : kFns) known |= l == f;
          if (!known) return ExprError(t.pos, "unknown function \"" + t.text + "\"");
          ++i_;
          n->kind = Node::kCall;
          n->name = l == "length" ? "len" : l;
          if (t_[i_].type != Tok::kRParen) {
            for (;;) {
              C19_ASSIGN_OR_RETURN(auto a, Binary(0));
              n->args.push_back(std::move(a));
              if (t_[i_].type == Tok::kComma) {
                ++i_;
                continue;
              }
              break;
            }
          }
          if (t_[i_].type != Tok::kRParen) return ExprError(t_[i_].pos, "expected ')'");
          ++i_;
          size_t want = n->name == "coalesce" ? 2 : 1;
          if (n->args.size() != want) {
            return ExprError(t.pos, t.text + "() takes " + std::to_string(want) + " argument(s)");
          }
          return n;
        }
        n->kind = Node::kCol;
        n->name = t.text;
        return n;
      }
      default:
        return ExprError(t.pos, t.type == Tok::kEnd ? "unexpected end of the expression" : "unexpected \"" + t.text + "\"");
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
};

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Value::kBool: return v.b;
    case Value::kNum: return v.num != 0;
    case Value::kStr: return !v.str.empty();
    default: return false;
  }
}

// Numbers compare as numbers; a number and a numeric string too; otherwise as text.
std::optional<int> Compare(const Value& a, const Value& b) {
  auto as_num = [](const Value& v, double& out) {
    if (v.kind == Value::kNum) return out = v.num, true;
    if (v.kind == Value::kBool) return out = v.b ? 1 : 0, true;
    if (v.kind == Value::kStr) return ParseFloat(v.str, out);
    return false;
  };
  double x, y;
  if ((a.kind != Value::kStr || b.kind != Value::kStr) && as_num(a, x) && as_num(b, y)) {
    return x < y ? -1 : x > y ? 1 : 0;
  }
  auto text = [](const Value& v) {
    if (v.kind == Value::kStr) return v.str;
    if (v.kind == Value::kBool) return std::string(v.b ? "true" : "false");
    return DumpJson(Json(v.num));
  };
  int c = text(a).compare(text(b));
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

class ExpressionImpl final : public Expression {
 public:
  ExpressionImpl(std::unique_ptr<Node> root) : root_(std::move(root)) {}

  Status Bind(const std::vector<std::string>& columns) override { return BindNode(*root_, columns); }

  std::optional<bool> Test(const RecordReader& r) const override {
    Value v = Eval(*root_, r);
    if (v.kind == Value::kNull) return std::nullopt;
    return Truthy(v);
  }

  std::vector<std::string> ColumnNames() const override {
    std::vector<std::string> out;
    Collect(*root_, out);
    return out;
  }

 private:
  static void Collect(const Node& n, std::vector<std::string>& out) {
    if (n.kind == Node::kCol) out.push_back(n.name);
    for (const auto& a : n.args) Collect(*a, out);
  }

  static Status BindNode(Node& n, const std::vector<std::string>& columns) {
    if (n.kind == Node::kCol) {
      n.column = -1;
      for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == n.name) n.column = static_cast<int>(i);
      if (n.column < 0) return Error::Field("expression", "the expression names column \"" + n.name + "\", which the data does not have");
    }
    for (auto& a : n.args) C19_TRY(BindNode(*a, columns));
    return OkStatus();
  }

  static Value Eval(const Node& n, const RecordReader& r) {
    switch (n.kind) {
      case Node::kLit: return n.lit;
      case Node::kCol: {
        if (n.column < 0 || r.is_null(static_cast<size_t>(n.column))) return {};
        std::string_view s = r.cell(static_cast<size_t>(n.column));
        double d;
        if (ParseFloat(s, d)) return Value::Num(d);
        return Value::Str(std::string(s));
      }
      case Node::kUnary: {
        Value v = Eval(*n.args[0], r);
        if (n.name == "not") return v.kind == Value::kNull ? Value() : Value::Bool(!Truthy(v));
        if (v.kind != Value::kNum) return {};
        return Value::Num(-v.num);
      }
      case Node::kCall: {
        Value v = Eval(*n.args[0], r);
        if (n.name == "is_null") return Value::Bool(v.kind == Value::kNull);
        if (n.name == "not_null") return Value::Bool(v.kind != Value::kNull);
        if (n.name == "coalesce") return v.kind != Value::kNull ? v : Eval(*n.args[1], r);
        if (v.kind == Value::kNull) return {};
        if (n.name == "abs") return v.kind == Value::kNum ? Value::Num(std::fabs(v.num)) : Value();
        std::string text = v.kind == Value::kStr ? v.str : v.kind == Value::kBool ? (v.b ? "true" : "false")
                                                                                   : std::string(r.cell(0).empty() ? "" : "");
        if (v.kind == Value::kNum) {
          // The length of a number is that of its text in the data.
          const Node& a = *n.args[0];
          text = a.kind == Node::kCol ? std::string(r.cell(static_cast<size_t>(a.column))) : DumpJson(Json(v.num));
        }
        if (n.name == "len") return Value::Num(static_cast<double>(Utf8Length(text)));
        if (n.name == "lower") return Value::Str(ToLower(text));
        if (n.name == "upper") {
          for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return Value::Str(text);
        }
        return {};
      }
      case Node::kBinary: {
        const std::string& op = n.name;
        if (op == "and") {
          Value a = Eval(*n.args[0], r);
          if (a.kind != Value::kNull && !Truthy(a)) return Value::Bool(false);
          Value b = Eval(*n.args[1], r);
          if (b.kind != Value::kNull && !Truthy(b)) return Value::Bool(false);
          if (a.kind == Value::kNull || b.kind == Value::kNull) return {};
          return Value::Bool(true);
        }
        if (op == "or") {
          Value a = Eval(*n.args[0], r);
          if (a.kind != Value::kNull && Truthy(a)) return Value::Bool(true);
          Value b = Eval(*n.args[1], r);
          if (b.kind != Value::kNull && Truthy(b)) return Value::Bool(true);
          if (a.kind == Value::kNull || b.kind == Value::kNull) return {};
          return Value::Bool(false);
        }
        Value a = Eval(*n.args[0], r);
        Value b = Eval(*n.args[1], r);
        if (a.kind == Value::kNull || b.kind == Value::kNull) return {};
        if (op == "+" && (a.kind == Value::kStr || b.kind == Value::kStr)) {
          auto text = [](const Value& v) { return v.kind == Value::kStr ? v.str : DumpJson(Json(v.num)); };
          return Value::Str(text(a) + text(b));
        }
        if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
          if (a.kind != Value::kNum || b.kind != Value::kNum) return {};
          if (op == "+") return Value::Num(a.num + b.num);
          if (op == "-") return Value::Num(a.num - b.num);
          if (op == "*") return Value::Num(a.num * b.num);
          if (b.num == 0) return {};
          if (op == "/") return Value::Num(a.num / b.num);
          return Value::Num(std::fmod(a.num, b.num));
        }
        auto c = Compare(a, b);
        if (!c) return {};
        if (op == "==") return Value::Bool(*c == 0);
        if (op == "!=") return Value::Bool(*c != 0);
        if (op == "<") return Value::Bool(*c < 0);
        if (op == "<=") return Value::Bool(*c <= 0);
        if (op == ">") return Value::Bool(*c > 0);
        if (op == ">=") return Value::Bool(*c >= 0);
        return {};
      }
    }
    return {};
  }

  std::unique_ptr<Node> root_;
};

}  // namespace

Result<std::unique_ptr<Expression>> Expression::Parse(std::string_view text) {
  if (Trim(text).empty()) return Error::Field("expression", "the expression is empty");
  if (text.size() > 4096) return Error::Field("expression", "the expression is longer than 4096 characters");
  C19_ASSIGN_OR_RETURN(auto toks, Tokenize(text));
  Parser p(std::move(toks));
  C19_ASSIGN_OR_RETURN(auto root, p.Parse());
  return std::unique_ptr<Expression>(new ExpressionImpl(std::move(root)));
}

}  // namespace c19ai::validation::internal
