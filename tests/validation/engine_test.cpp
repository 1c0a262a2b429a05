// The streaming engine: record readers, value parsing, expressions, the validator and the profiler,
// without a database.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/json.h"
#include "validation/engine.h"

namespace c19ai::validation::internal {
namespace {

struct Records {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<int64_t> lines;
};

// Reads everything, in chunks of `chunk` bytes to exercise records that span reads.
class ChunkedSource final : public storage::ByteSource {
 public:
  ChunkedSource(std::string data, size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  Result<size_t> Read(char* out, size_t size) override {
    size_t n = std::min({size, chunk_, data_.size() - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t chunk_, pos_ = 0;
};

Result<Records> ReadAllRecords(const std::string& data, ReadOptions o = {}, size_t chunk = 1 << 20) {
  ChunkedSource src(data, chunk);
  C19_ASSIGN_OR_RETURN(auto r, RecordReader::Open(src, o));
  Records out;
  for (;;) {
    C19_ASSIGN_OR_RETURN(bool got, r->Next());
    if (!got) break;
    std::vector<std::optional<std::string>> row;
    for (size_t i = 0; i < r->columns().size(); ++i) {
      row.push_back(r->is_null(i) ? std::nullopt : std::optional<std::string>(std::string(r->cell(i))));
    }
    out.rows.push_back(row);
    out.lines.push_back(r->line());
    EXPECT_EQ(r->record(), static_cast<int64_t>(out.rows.size()));
  }
  out.columns = r->columns();
  return out;
}

int64_t ErrorLine(const Error& e) {
  Json d = Json::parse(e.details, nullptr, false);
  return d.is_object() && d.contains("line") ? d["line"].get<int64_t>() : -1;
}

TEST(CsvReader, ParsesQuotesEscapesNewlinesBomAndCrlf) {
  auto r = ReadAllRecords("\xEF\xBB\xBFid,text\r\n1,\"a, b\"\r\n2,\"say \"\"hi\"\"\"\r\n\r\n3,\"two\nlines\"\n4,\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"id", "text"}));
  ASSERT_EQ(r->rows.size(), 4u);
  EXPECT_EQ(*r->rows[0][1], "a, b");
  EXPECT_EQ(*r->rows[1][1], "say \"hi\"");
  EXPECT_EQ(*r->rows[2][1], "two\nlines");
  EXPECT_FALSE(r->rows[3][1].has_value());  // empty is null
  EXPECT_EQ(r->lines, (std::vector<int64_t>{2, 3, 5, 7}));
}

TEST(CsvReader, RecordsSpanningReadsParseTheSame) {
  std::string data = "a,b,c\n";
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    data += std::to_string(i) + ",\"q" + std::string(rng() % 50, 'x') + "\"\"y\n z\"," + std::to_string(rng() % 1000) + "\n";
  }
  auto whole = ReadAllRecords(data);
  ASSERT_TRUE(whole.ok());
  for (size_t chunk : {1, 3, 7, 64, 4096}) {
    auto parts = ReadAllRecords(data, {}, chunk);
    ASSERT_TRUE(parts.ok()) << chunk << ": " << parts.error().message;
    EXPECT_EQ(parts->rows, whole->rows) << chunk;
    EXPECT_EQ(parts->lines, whole->lines) << chunk;
  }
  EXPECT_EQ(whole->rows.size(), 3000u);
  EXPECT_EQ(whole->lines.back(), 2 + 2 * 2999);
}

TEST(CsvReader, LongRecordsGrowTheBuffer) {
  std::string big(3 << 20, 'v');
  auto r = ReadAllRecords("a,b\n\"" + big + "\",1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows[0][0]->size(), big.size());
  ReadOptions o;
  o.max_record_bytes = 1 << 20;
  auto refused = ReadAllRecords("a,b\n\"" + big + "\",1\n", o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ErrorLine(refused.error()), 2);
}

TEST(CsvReader, ErrorsNameTheLine) {
  struct Case {
    std::string data;
    int64_t line;
    std::string words;
  } cases[] = {
      {"a,b\n1,2\n3\n", 3, "1 fields"},
      {"a,b\n1,\"x\n2,3\n", 2, "not closed"},
      {"a,b\n1,2\n\"x\"y,2\n", 3, "after a closing quote"},
      {"a,b\n1,\"multi\nline\"\n2,\xC3\x28\n", 4, "UTF-8"},
      {"", 1, "empty"},
      {"a,a\n1,2\n", 1, "twice"},
  };
  for (const auto& c : cases) {
    auto r = ReadAllRecords(c.data);
    ASSERT_FALSE(r.ok()) << c.data;
    EXPECT_EQ(ErrorLine(r.error()), c.line) << c.data << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.words), std::string::npos) << r.error().message;
  }
}

TEST(CsvReader, DelimiterAndNoHeader) {
  ReadOptions o;
  o.delimiter = '\t';
  o.header = false;
  auto r = ReadAllRecords("1\tx y\n2\t\n", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns, (std::vector<std::string>{"column_1", "column_2"}));
  EXPECT_EQ(*r->rows[0][1], "x y");
}

TEST(JsonLinesReader, ColumnsInFirstSeenOrderAndValuesAsText) {
  ReadOptions o;
  o.format = Format::kJsonLines;
  auto r = ReadAllRecords("{\"a\":1,\"b\":\"x\"}\n\n{\"c\":{\"k\":[1]},\"a\":null,\"b\":true}\n", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*r->rows[0][0], "1");
  EXPECT_FALSE(r->rows[1][0].has_value());
  EXPECT_EQ(*r->rows[1][1], "true");
  EXPECT_EQ(*r->rows[1][2], "{\"k\":[1]}");
  EXPECT_EQ(r->lines, (std::vector<int64_t>{1, 3}));
  auto bad = ReadAllRecords("{\"a\":1}\n{\"a\":\n", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorLine(bad.error()), 2);
}

TEST(Values, ParseTypes) {
  int64_t i;
  double d;
  bool b;
  int64_t days;
  double sec;
  EXPECT_TRUE(ParseInt("-42", i) && i == -42);
  EXPECT_FALSE(ParseInt("4.2", i));
  EXPECT_TRUE(ParseFloat("1e3", d) && d == 1000);
  EXPECT_FALSE(ParseFloat("nan", d));
  EXPECT_FALSE(ParseFloat("12abc", d));
  EXPECT_TRUE(ParseBool("Yes", b) && b);
  EXPECT_TRUE(ParseDate("2024-02-29", "", days) && days == 19782);
  EXPECT_FALSE(ParseDate("2023-02-29", "", days));
  EXPECT_TRUE(ParseDate("29/02/2024", "%d/%m/%Y", days) && days == 19782);
  EXPECT_TRUE(ParseDateTime("2024-02-29T01:02:03.5+01:00", "", sec));
  EXPECT_DOUBLE_EQ(sec, 19782 * 86400.0 + 3723.5 - 3600);
  EXPECT_TRUE(MatchesType("integer", "3.0"));
  EXPECT_FALSE(MatchesType("integer", "3.5"));
  EXPECT_TRUE(MatchesType("json", "{\"a\":[1]}"));
  EXPECT_FALSE(MatchesType("json", "{a}"));
  EXPECT_EQ(Utf8Length("h\xC3\xA9llo"), 5u);
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(ValidUtf8("\xC0\xAF"));      // overlong
}

// A one-record reader over fixed cells.
class RowReader final : public RecordReader {
 public:
  RowReader(std::vector<std::string> cols, std::vector<std::optional<std::string>> cells)
      : cols_(std::move(cols)), cells_(std::move(cells)) {}
  const std::vector<std::string>& columns() const override { return cols_; }
  Result<bool> Next() override { return false; }
  std::string_view cell(size_t i) const override { return cells_[i] ? std::string_view(*cells_[i]) : std::string_view(); }
  bool is_null(size_t i) const override { return !cells_[i]; }
  bool absent(size_t) const override { return false; }
  int64_t record() const override { return 1; }
  int64_t line() const override { return 2; }
  int64_t bytes_read() const override { return 0; }

 private:
  std::vector<std::string> cols_;
  std::vector<std::optional<std::string>> cells_;
};

std::optional<bool> Eval(const std::string& expr, std::vector<std::optional<std::string>> cells) {
  auto e = Expression::Parse(expr);
  EXPECT_TRUE(e.ok()) << expr << ": " << (e.ok() ? "" : e.error().message);
  if (!e.ok()) return false;
  std::vector<std::string> cols = {"a", "b", "name", "my col"};
  EXPECT_TRUE((*e)->Bind(cols).ok());
  RowReader r(cols, cells);
  return (*e)->Test(r);
}

TEST(Expression, EvaluatesArithmeticComparisonsLogicAndFunctions) {
  std::vector<std::optional<std::string>> row = {"3", "4", "Ann", std::nullopt};
  EXPECT_EQ(Eval("a + b * 2 == 11", row), true);
  EXPECT_EQ(Eval("(a + b) * 2 == 14", row), true);
  EXPECT_EQ(Eval("b % a == 1 and not a > b", row), true);
  EXPECT_EQ(Eval("a > b or name == 'Ann'", row), true);
  EXPECT_EQ(Eval("len(name) = 3 && lower(name) == \"ann\"", row), true);
  EXPECT_EQ(Eval("is_null(`my col`)", row), true);
  EXPECT_EQ(Eval("`my col` > 1", row), std::nullopt);  // null propagates
  EXPECT_EQ(Eval("`my col` > 1 or a == 3", row), true);  // but `or` with a true side is true
  EXPECT_EQ(Eval("coalesce(`my col`, 7) - a == 4", row), true);
  EXPECT_EQ(Eval("abs(-a) == 3", row), true);
  EXPECT_EQ(Eval("a / 0 == 1", row), std::nullopt);
}

TEST(Expression, ErrorsSayWhere) {
  auto e = Expression::Parse("a + * b");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("character 5"), std::string::npos) << e.error().message;
  EXPECT_FALSE(Expression::Parse("nosuch(a)").ok());
  EXPECT_FALSE(Expression::Parse("'open").ok());
  auto ok = Expression::Parse("zz > 1");
  ASSERT_TRUE(ok.ok());
  Status bound = (*ok)->Bind({"a"});
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("\"zz\""), std::string::npos);
}

ValidationReport RunValidator(const Schema& s, const std::string& csv) {
  auto v = Validator::Compile(s, {});
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  auto src = storage::StringSource(csv);
  auto r = std::move(RecordReader::Open(*src, {})).value();
  (*v)->Begin(r->columns(), false);
  while (*r->Next()) (*v)->Check(*r);
  return (*v)->Finish(r->record());
}

Schema OneRule(const std::string& field, const std::string& rule_json) {
  Schema s;
  s.name = "t";
  Field f;
  f.name = field;
  f.constraints_json.push_back(rule_json);
  s.fields.push_back(f);
  return s;
}

TEST(Validator, MostlyPassesAtTheBoundaryAndMovesFailuresToWarnings) {
  const std::string csv = "v\n1\n2\n3\n40\n50\n";
  auto at = RunValidator(OneRule("v", R"({"type":"range","max":10,"mostly":0.6})"), csv);
  EXPECT_TRUE(at.is_valid);
  EXPECT_EQ(at.warnings.size(), 2u);
  EXPECT_EQ(at.rules.back().failed, 2);
  auto above = RunValidator(OneRule("v", R"({"type":"range","max":10,"mostly":0.61})"), csv);
  EXPECT_FALSE(above.is_valid);
  EXPECT_EQ(above.errors.size(), 2u);
  EXPECT_EQ(above.errors[0].row, 4);
  auto warn = RunValidator(OneRule("v", R"({"type":"range","max":10,"severity":"warning"})"), csv);
  EXPECT_TRUE(warn.is_valid);
  EXPECT_EQ(warn.warning_count, 2);
}

TEST(Validator, CountsEveryFailureButCapsExamples) {
  std::string csv = "v\n";
  for (int i = 0; i < 500; ++i) csv += "x" + std::to_string(i % 7) + "\n";
  Schema s = OneRule("v", R"({"type":"unique"})");
  auto v = Validator::Compile(s, {.max_examples_per_rule = 5, .max_issues = 1000});
  ASSERT_TRUE(v.ok());
  auto src = storage::StringSource(csv);
  auto r = std::move(RecordReader::Open(*src, {})).value();
  (*v)->Begin(r->columns(), false);
  while (*r->Next()) (*v)->Check(*r);
  auto rep = (*v)->Finish(r->record());
  EXPECT_EQ(rep.error_count, 493);
  EXPECT_EQ(rep.errors.size(), 5u);
  EXPECT_TRUE(rep.truncated);
  EXPECT_EQ(rep.errors[0].row, 8);
  EXPECT_NE(rep.errors[0].message.find("row 1"), std::string::npos);
}

TEST(Validator, MonotonicUniqueCombinationAndAggregates) {
  Schema s;
  s.name = "t";
  s.constraints_json = {R"({"type":"monotonic","column":"t","strict":true})",
                        R"({"type":"unique_combination","columns":["a","b"]})",
                        R"({"type":"aggregate","column":"a","stat":"mean","min":1.5,"max":2})",
                        R"({"type":"expect_column_stdev_to_be_between","column":"a","max_value":0.1})"};
  auto rep = RunValidator(s, "t,a,b\n1,1,x\n2,2,x\n2,1,x\n5,3,y\n");
  ASSERT_EQ(rep.rules.size(), 4u);
  EXPECT_EQ(rep.rules[0].failed, 1);  // 2 after 2 is not strictly increasing
  EXPECT_EQ(rep.rules[1].failed, 1);  // (1, x) twice
  EXPECT_TRUE(rep.rules[2].passed);   // mean 1.75
  EXPECT_EQ(rep.rules[2].observed_json, "1.75");
  EXPECT_FALSE(rep.rules[3].passed);
  EXPECT_EQ(rep.rules[3].rule, "expect_column_stdev_to_be_between");
}

TEST(Validator, RejectsBadRulesNamingThem) {
  auto bad = [](const std::string& rule) {
    auto v = Validator::Compile(OneRule("v", rule), {});
    EXPECT_FALSE(v.ok()) << rule;
    return v.ok() ? std::string() : Json::parse(v.error().details)["field"].get<std::string>();
  };
  EXPECT_EQ(bad(R"({"type":"range"})"), "fields[0].constraints[0].min");
  EXPECT_EQ(bad(R"({"type":"regex","pattern":"a("})"), "fields[0].constraints[0].pattern");
  EXPECT_EQ(bad(R"({"type":"nope"})"), "fields[0].constraints[0].type");
  EXPECT_EQ(bad(R"({"type":"unique","mostly":2})"), "fields[0].constraints[0].mostly");
  EXPECT_EQ(bad(R"({"type":"unique","severity":"fatal"})"), "fields[0].constraints[0].severity");
}

TEST(Validator, RegexIsLinearTimeOnPathologicalInput) {
  // (a+)+$ is catastrophic for backtracking engines; RE2 answers at once.
  std::string csv = "v\n" + std::string(5000, 'a') + "!\n";
  auto start = std::chrono::steady_clock::now();
  auto rep = RunValidator(OneRule("v", R"({"type":"regex","pattern":"^(a+)+$"})"), csv);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(rep.error_count, 1);
}

TEST(Profiler, LargeColumnsStayApproximateButClose) {
  auto p = Profiler::Create();
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0, 1000);
  std::string csv = "v,k\n";
  const int n = 300000;
  std::vector<double> values;
  for (int i = 0; i < n; ++i) {
    double x = std::round(u(rng) * 1000) / 1000;
    values.push_back(x);
    csv += std::to_string(x) + "," + std::to_string(i % 50000) + "\n";
  }
  auto src = storage::StringSource(csv);
  auto r = std::move(RecordReader::Open(*src, {})).value();
  while (*r->Next()) p->Add(*r);
  Json j = p->Finish(r->columns(), n);
  const Json& v = j["columns"][0];
  EXPECT_FALSE(v["quantiles_exact"].get<bool>());
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.75, 0.99}) {
    char key[16];
    std::snprintf(key, sizeof key, "%g", q);
    double exact = values[static_cast<size_t>(q * (n - 1))];
    EXPECT_NEAR(v["quantiles"][key].get<double>(), exact, 1000 * 0.005) << q;  // within 0.5% of the range
  }
  const Json& k = j["columns"][1];
  EXPECT_FALSE(k["distinct_exact"].get<bool>());
  EXPECT_NEAR(k["distinct"].get<double>(), 50000, 50000 * 0.02);  // HyperLogLog, p = 14
  int64_t hist = 0;
  for (const auto& c : v["histogram"]["counts"]) hist += c.get<int64_t>();
  EXPECT_NEAR(static_cast<double>(hist), n, n * 0.001);
}

TEST(Drift, StatisticsOnKnownSamples) {
  auto ks = KolmogorovSmirnov({1, 2, 3, 4}, {3, 4, 5, 6});
  EXPECT_DOUBLE_EQ(ks.statistic, 0.5);
  auto same = KolmogorovSmirnov({1, 2, 3}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(same.statistic, 0);
  EXPECT_DOUBLE_EQ(same.p_value, 1);
  std::vector<double> a;
  for (int i = 0; i < 1000; ++i) a.push_back(i);
  EXPECT_NEAR(PopulationStability(a, a), 0, 1e-12);
  std::unordered_map<std::string, double> p = {{"x", 1}}, q = {{"y", 1}};
  EXPECT_DOUBLE_EQ(JensenShannon(p, q), 1.0);  // disjoint: the maximum, base 2
  EXPECT_DOUBLE_EQ(JensenShannon(p, p), 0.0);
  EXPECT_DOUBLE_EQ(LInfinity({{"x", 3}, {"y", 1}}, {{"x", 1}, {"y", 1}}), 0.25);
}

}  // namespace
}  // namespace c19ai::validation::internal
