// Runestone tests: ports of ord's own tests (crates/ordinals/src/runestone.rs,
// varint.rs, rune.rs, spaced_rune.rs, etching.rs, rune_id.rs) with ord's
// expected values, plus a seeded encode/decode round-trip property test.
#include "kray/bitcoin/runestone.h"

#include <gtest/gtest.h>

#include <random>

#include "kray/bitcoin/varint128.h"

namespace kray::bitcoin {
namespace {

constexpr u128 kU128Max = ~u128{0};
constexpr u128 kFlagEtching = 1, kFlagTerms = 2, kFlagTurbo = 4, kFlagCenotaph = u128{1} << 127;
constexpr u128 kBody = 0, kFlags = 2, kRune = 4, kPremine = 6, kCap = 8, kAmount = 10, kHeightStart = 12,
               kHeightEnd = 14, kOffsetStart = 16, kOffsetEnd = 18, kMint = 20, kPointer = 22, kCenotaph = 126,
               kDivisibility = 1, kSpacers = 3, kSymbol = 5, kNop = 127;

Bytes PayloadOf(const std::vector<u128>& ints) {
  Bytes p;
  for (u128 i : ints) EncodeVarint128(i, p);
  return p;
}

Bytes Push(const Bytes& data) {
  Bytes s;
  if (data.size() <= 75) {
    s.push_back(static_cast<std::uint8_t>(data.size()));
  } else {
    s.push_back(0x4c);
    s.push_back(static_cast<std::uint8_t>(data.size()));
  }
  s.insert(s.end(), data.begin(), data.end());
  return s;
}

Bytes RuneScript(const std::vector<Bytes>& pushes) {
  Bytes s{0x6a, 0x5d};
  for (const auto& p : pushes) {
    Bytes b = Push(p);
    s.insert(s.end(), b.begin(), b.end());
  }
  return s;
}

RuneArtifact Decipher(const std::vector<u128>& ints) {
  auto a = DecipherRunestone(std::vector<Bytes>{RuneScript({PayloadOf(ints)})});
  EXPECT_TRUE(a.has_value());
  return a.value_or(Cenotaph{});
}

RuneArtifact CenotaphWith(Flaw f) {
  return Cenotaph{f, std::nullopt, std::nullopt};
}
RuneId Id(std::uint32_t tx) {
  return RuneId{1, tx};
}
Runestone OneEdict() {
  return Runestone{{Edict{Id(1), 2, 0}}, std::nullopt, std::nullopt, std::nullopt};
}

TEST(Varint128, OrdCases) {
  for (u128 n : {u128{0}, kU128Max}) {
    Bytes e = EncodeVarint128(n);
    VarintDecoded d;
    ASSERT_TRUE(DecodeVarint128(e, &d));
    EXPECT_TRUE(d.value == n);
    EXPECT_EQ(d.length, e.size());
  }
  for (int i = 0; i < 128; ++i) {
    u128 n = u128{1} << i;
    Bytes e = EncodeVarint128(n);
    VarintDecoded d;
    ASSERT_TRUE(DecodeVarint128(e, &d));
    EXPECT_TRUE(d.value == n) << i;
  }
  u128 n = 0;
  for (int i = 0; i < 129; ++i) {
    n = (n << 1) | static_cast<u128>(i % 2);
    Bytes e = EncodeVarint128(n);
    VarintDecoded d;
    ASSERT_TRUE(DecodeVarint128(e, &d));
    EXPECT_TRUE(d.value == n) << i;
  }
  Bytes valid(18, 128);
  valid.push_back(0);
  VarintDecoded d;
  VarintError err;
  ASSERT_TRUE(DecodeVarint128(valid, &d));
  EXPECT_EQ(d.length, 19u);
  Bytes overlong(19, 128);
  overlong.push_back(0);
  EXPECT_FALSE(DecodeVarint128(overlong, &d, &err));
  EXPECT_EQ(err, VarintError::kOverlong);
  for (std::uint8_t last : {64, 32, 16, 8, 4}) {
    Bytes b(18, 128);
    b.push_back(last);
    EXPECT_FALSE(DecodeVarint128(b, &d, &err));
    EXPECT_EQ(err, VarintError::kOverflow);
  }
  Bytes top(18, 128);
  top.push_back(2);
  ASSERT_TRUE(DecodeVarint128(top, &d));
  EXPECT_TRUE(d.value == (u128{1} << 127));
  EXPECT_FALSE(DecodeVarint128(Bytes{128}, &d, &err));
  EXPECT_EQ(err, VarintError::kUnterminated);
}

TEST(RuneName, OrdRoundTrip) {
  struct Case {
    u128 n;
    const char* s;
  };
  const Case cases[] = {{0, "A"},
                        {1, "B"},
                        {25, "Z"},
                        {26, "AA"},
                        {27, "AB"},
                        {51, "AZ"},
                        {52, "BA"},
                        {kU128Max - 2, "BCGDENLQRQWDSLRUGSNLBTMFIJAT"},
                        {kU128Max - 1, "BCGDENLQRQWDSLRUGSNLBTMFIJAU"},
                        {kU128Max, "BCGDENLQRQWDSLRUGSNLBTMFIJAV"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.s);
    EXPECT_EQ(RuneName(Rune{c.n}), c.s);
    auto r = ParseRuneName(c.s);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->value == c.n);
  }
  EXPECT_EQ(ParseRuneName("BCGDENLQRQWDSLRUGSNLBTMFIJAW").error().code, "rune_name_out_of_range");
  EXPECT_EQ(ParseRuneName("BCGDENLQRQWDSLRUGSNLBTMFIJAVX").error().code, "rune_name_out_of_range");
  EXPECT_EQ(ParseRuneName("x").error().code, "rune_name_invalid");
  // Rune::RESERVED = "AAAAAAAAAAAAAAAAAAAAAAAAAAA".
  EXPECT_EQ(U128ToString(ParseRuneName("AAAAAAAAAAAAAAAAAAAAAAAAAAA")->value), "6402364363415443603228541259936211926");
}

TEST(SpacedRune, OrdCases) {
  EXPECT_EQ(SpacedRuneName(ParseSpacedRune("A.B")->rune, ParseSpacedRune("A.B")->spacers),
            "A\xe2\x80\xa2"
            "B");
  EXPECT_EQ(SpacedRuneName(Rune{0}, 1), "A");
  EXPECT_FALSE(ParseSpacedRune(".A").ok());
  EXPECT_FALSE(ParseSpacedRune("A..B").ok());
  EXPECT_FALSE(ParseSpacedRune("A.").ok());
  EXPECT_FALSE(ParseSpacedRune("Ax").ok());
  EXPECT_EQ(ParseSpacedRune("A.B.C")->spacers, 0b11u);
  EXPECT_EQ(ParseSpacedRune("A\xe2\x80\xa2"
                            "BC")
                ->spacers,
            0b1u);
  EXPECT_EQ(RuneName(ParseSpacedRune("A\xe2\x80\xa2"
                                     "B\xe2\x80\xa2"
                                     "C")
                         ->rune),
            "ABC");
  // Etching::MAX_SPACERS is a spacer between every letter of the longest name.
  std::string longest;
  for (char c : RuneName(Rune{kU128Max})) {
    if (!longest.empty()) longest += ".";
    longest.push_back(c);
  }
  EXPECT_EQ(ParseSpacedRune(longest)->spacers, Etching::kMaxSpacers);
  EXPECT_EQ(SpacedRuneName(Rune{26}, 1),
            "A\xe2\x80\xa2"
            "A");
}

TEST(RuneIdTest, DeltaAndParse) {
  // ord rune_id.rs `delta`: deltas (1,1),(0,1),(1,0),(1,1),(1,2).
  const RuneId ids[] = {{1, 1}, {1, 2}, {2, 0}, {3, 1}, {4, 2}};
  const std::pair<u128, u128> deltas[] = {{1, 1}, {0, 1}, {1, 0}, {1, 1}, {1, 2}};
  RuneId prev;
  for (int i = 0; i < 5; ++i) {
    auto next = NextRuneId(prev, deltas[i].first, deltas[i].second);
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, ids[i]);
    prev = *next;
  }
  EXPECT_EQ(RuneIdToString(RuneId{1, 2}), "1:2");
  EXPECT_FALSE(ParseRuneId("123").ok());
  EXPECT_FALSE(ParseRuneId(":").ok());
  EXPECT_FALSE(ParseRuneId("1:a").ok());
  EXPECT_EQ(*ParseRuneId("1:2"), (RuneId{1, 2}));
}

TEST(EtchingTest, OrdSupply) {
  auto supply = [](std::optional<u128> premine, std::optional<Terms> terms) {
    Etching e;
    e.premine = premine;
    e.terms = terms;
    return EtchingSupply(e);
  };
  EXPECT_TRUE(supply(std::nullopt, std::nullopt) == u128{0});
  EXPECT_TRUE(supply(1, std::nullopt) == u128{1});
  EXPECT_TRUE(supply(1000, Terms{100, 10, {}, {}, {}, {}}) == u128{2000});
  EXPECT_TRUE(supply(kU128Max / 2 + 1, Terms{1, kU128Max / 2, {}, {}, {}, {}}) == kU128Max);
  EXPECT_FALSE(supply(kU128Max, Terms{1, 1, {}, {}, {}, {}}).has_value());
  EXPECT_TRUE(supply(0, Terms{kU128Max, 1, {}, {}, {}, {}}) == kU128Max);
}

TEST(RunestoneDecipher, OrdScriptCases) {
  using Scripts = std::vector<Bytes>;
  EXPECT_FALSE(DecipherRunestone(Scripts{Bytes{0x04}}));  // malformed first opcode
  EXPECT_FALSE(DecipherRunestone(Scripts{}));
  EXPECT_FALSE(DecipherRunestone(Scripts{Bytes{0x00}}));  // push of nothing
  EXPECT_FALSE(DecipherRunestone(Scripts{Bytes{0x6a}}));  // bare OP_RETURN
  EXPECT_FALSE(DecipherRunestone(Scripts{Bytes{0x6a, 0x04, 'F', 'O', 'O', 'O'}}));
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x5d, 0x04}}), CenotaphWith(Flaw::kInvalidScript));
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x5d, 0x01, 128}}), CenotaphWith(Flaw::kVarint));
  // Non-push opcode: cenotaph, even if a later output holds a valid runestone.
  Bytes bad{0x6a, 0x5d, 0x69 /*OP_VERIFY*/, 0x01, 0x00};
  EXPECT_EQ(*DecipherRunestone(Scripts{bad, RuneScript({PayloadOf({0, 1, 2, 3, 0})})}), CenotaphWith(Flaw::kOpcode));
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x5d, 0x51}}), CenotaphWith(Flaw::kOpcode));  // OP_1
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x5d}}), RuneArtifact{Runestone{}});
  // Invalid script after OP_RETURN without the magic number is skipped.
  Bytes skipped{0x6a, 0x09, 0x5d, 0x04};
  Runestone mint;
  mint.mint = RuneId{1, 1};
  EXPECT_EQ(*DecipherRunestone(Scripts{skipped, RuneScript({PayloadOf({kMint, 1, kMint, 1})})}), RuneArtifact{mint});
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x04}, EncipherRunestone(Runestone{})}), RuneArtifact{Runestone{}});
  EXPECT_FALSE(DecipherRunestone(Scripts{Bytes{0x6a, 0x04}}));
  // Runestone in the second output / after a non-matching OP_RETURN.
  Bytes rs = RuneScript({PayloadOf({0, 1, 1, 2, 0})});
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{}, rs}), RuneArtifact{OneEdict()});
  EXPECT_EQ(*DecipherRunestone(Scripts{Bytes{0x6a, 0x03, 'F', 'O', 'O'}, rs}), RuneArtifact{OneEdict()});
  // Pushes are concatenated.
  Runestone div;
  div.edicts = OneEdict().edicts;
  div.etching = Etching{};
  div.etching->divisibility = 5;
  EXPECT_EQ(*DecipherRunestone(Scripts{RuneScript({{2}, {1}, {1}, {5}, {0}, {1}, {1}, {2}, {0}})}), RuneArtifact{div});
}

TEST(RunestoneDecipher, OrdAllPushOpcodesValidAllOthersOpcode) {
  for (int i = 0; i < 79; ++i) {
    Bytes s{0x6a, 0x5d, static_cast<std::uint8_t>(i)};
    if (i <= 75) {
      for (int j = 0; j < i; ++j) s.push_back(j % 2 == 0 ? 1 : 0);
      if (i % 2 == 1) {
        s.push_back(1);
        s.push_back(1);
      }
    } else {
      s.insert(s.end(), i == 76 ? 1 : i == 77 ? 2 : 4, 0);
    }
    EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{s}), RuneArtifact{Runestone{}}) << i;
  }
  for (int i = 79; i <= 255; ++i) {
    Bytes s{0x6a, 0x5d, static_cast<std::uint8_t>(i)};
    EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{s}), CenotaphWith(Flaw::kOpcode)) << i;
  }
}

TEST(RunestoneDecipher, OrdMessageCases) {
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 0}), RuneArtifact{OneEdict()});
  Runestone etch = OneEdict();
  etch.etching = Etching{};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kBody, 1, 1, 2, 0}), RuneArtifact{etch});
  etch.etching->rune = Rune{4};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kBody, 1, 1, 2, 0}), RuneArtifact{etch});
  EXPECT_EQ(Decipher({kFlags, kFlagTerms, kBody, 0, 0, 0, 0}), CenotaphWith(Flaw::kUnrecognizedFlag));
  for (u128 tag : {kPremine, kRune, kCap, kAmount, kOffsetStart, kOffsetEnd, kHeightStart, kHeightEnd})
    EXPECT_EQ(Decipher({tag, 0}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  for (u128 tag : {kCap, kAmount, kOffsetStart, kOffsetEnd, kHeightStart, kHeightEnd})
    EXPECT_EQ(Decipher({kFlags, kFlagEtching, tag, 0}), CenotaphWith(Flaw::kUnrecognizedEvenTag));

  Runestone term = OneEdict();
  term.etching = Etching{};
  term.etching->terms = Terms{};
  term.etching->terms->offset_end = 4;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kOffsetEnd, 4, kBody, 1, 1, 2, 0}), RuneArtifact{term});
  term.etching->terms = Terms{};
  term.etching->terms->amount = 4;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kAmount, 4, kBody, 1, 1, 2, 0}), RuneArtifact{term});

  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kRune, 5, kBody, 1, 1, 2, 0}),
            (RuneArtifact{Cenotaph{Flaw::kUnrecognizedEvenTag, Rune{4}, std::nullopt}}));
  Runestone dup = OneEdict();
  dup.etching = Etching{};
  dup.etching->divisibility = 4;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kDivisibility, 4, kDivisibility, 5, kBody, 1, 1, 2, 0}), RuneArtifact{dup});
  EXPECT_EQ(Decipher({kNop, 100, kBody, 1, 1, 2, 0}), RuneArtifact{OneEdict()});
  EXPECT_EQ(Decipher({kCenotaph, 0, kBody, 1, 1, 2, 0}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kFlags, kFlagCenotaph, kBody, 1, 1, 2, 0}), CenotaphWith(Flaw::kUnrecognizedFlag));
  EXPECT_EQ(Decipher({kBody, 0, 1, 2, 0}), CenotaphWith(Flaw::kEdictRuneId));
  EXPECT_EQ(Decipher({kBody, 1, 0, 0, 0, UINT64_MAX, 0, 0, 0}), CenotaphWith(Flaw::kEdictRuneId));
  EXPECT_EQ(Decipher({kBody, 1, 1, 0, 0, 0, UINT64_MAX, 0, 0}), CenotaphWith(Flaw::kEdictRuneId));
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 2}), CenotaphWith(Flaw::kEdictOutput));
  // output == number of outputs is allowed (ord: split among all non-OP_RETURN outputs).
  Runestone split{{Edict{Id(1), 2, 1}}, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 1}), RuneArtifact{split});
  EXPECT_EQ(Decipher({kFlags, 1, kFlags}), CenotaphWith(Flaw::kTruncatedField));
  std::vector<u128> ints{kBody, 1, 1, 2, 0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Decipher(ints), i == 0 ? RuneArtifact{OneEdict()} : CenotaphWith(Flaw::kTrailingIntegers)) << i;
    ints.push_back(0);
  }
  Runestone d5 = OneEdict();
  d5.etching = Etching{};
  d5.etching->rune = Rune{4};
  d5.etching->divisibility = 5;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kDivisibility, 5, kBody, 1, 1, 2, 0}), RuneArtifact{d5});
  d5.etching->divisibility.reset();
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kDivisibility, 39, kBody, 1, 1, 2, 0}), RuneArtifact{d5});
  Runestone plain = OneEdict();
  plain.etching = Etching{};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kSymbol, 0x110000, kBody, 1, 1, 2, 0}), RuneArtifact{plain});
  d5.etching->symbol = U'a';
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kSymbol, 'a', kBody, 1, 1, 2, 0}), RuneArtifact{d5});
  d5.etching->divisibility = 1;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 4, kDivisibility, 1, kSymbol, 'a', kBody, 1, 1, 2, 0}),
            RuneArtifact{d5});
  EXPECT_EQ(Decipher({kRune, 4}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  Runestone tv = OneEdict();
  tv.etching = Etching{};
  tv.etching->divisibility = 0;
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kDivisibility, kBody, kBody, 1, 1, 2, 0}), RuneArtifact{tv});
  Runestone multi{{Edict{Id(1), 2, 0}, Edict{Id(4), 5, 0}}, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 0, 0, 3, 5, 0}), RuneArtifact{multi});
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 0, kU128Max, 1, 0, 0}), CenotaphWith(Flaw::kEdictRuneId));
  EXPECT_EQ(Decipher({kBody, 1, 1, 2, 0, 1, kU128Max, 0, 0}), CenotaphWith(Flaw::kEdictRuneId));
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kOffsetEnd, u128{UINT64_MAX} + 1}),
            CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kBody, 1, 1, 1, u128{UINT32_MAX} + 1}), CenotaphWith(Flaw::kEdictOutput));
  EXPECT_EQ(Decipher({kMint, 1}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kMint, 0, kMint, 1}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kOffsetEnd, kU128Max}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kPointer, 1}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kPointer, kU128Max}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
  EXPECT_EQ(Decipher({kDivisibility, kU128Max}), RuneArtifact{Runestone{}});
  EXPECT_EQ(Decipher({kSpacers, kU128Max}), RuneArtifact{Runestone{}});
  EXPECT_EQ(Decipher({kSymbol, kU128Max}), RuneArtifact{Runestone{}});
  Runestone minmax;
  minmax.etching = Etching{};
  minmax.etching->rune = Rune{0};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, 0}), RuneArtifact{minmax});
  minmax.etching->rune = Rune{kU128Max};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching, kRune, kU128Max}), RuneArtifact{minmax});
}

TEST(RunestoneDecipher, OrdAllEtchingTagsAndSupply) {
  Runestone all = OneEdict();
  Etching e;
  e.divisibility = 1;
  e.premine = 8;
  e.rune = Rune{4};
  e.spacers = 5;
  e.symbol = U'a';
  e.terms = Terms{3, 9, std::nullopt, std::nullopt, std::nullopt, 2};
  e.turbo = true;
  all.etching = e;
  all.pointer = 0;
  all.mint = RuneId{1, 1};
  EXPECT_EQ(Decipher({kFlags,
                      kFlagEtching | kFlagTerms | kFlagTurbo,
                      kRune,
                      4,
                      kDivisibility,
                      1,
                      kSpacers,
                      5,
                      kSymbol,
                      'a',
                      kOffsetEnd,
                      2,
                      kAmount,
                      3,
                      kPremine,
                      8,
                      kCap,
                      9,
                      kPointer,
                      0,
                      kMint,
                      1,
                      kMint,
                      1,
                      kBody,
                      1,
                      1,
                      2,
                      0}),
            RuneArtifact{all});

  Runestone ok;
  ok.etching = Etching{};
  ok.etching->terms = Terms{kU128Max, 1, {}, {}, {}, {}};
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kCap, 1, kAmount, kU128Max}), RuneArtifact{ok});
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kCap, 2, kAmount, kU128Max}),
            CenotaphWith(Flaw::kSupplyOverflow));
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kCap, 2, kAmount, kU128Max / 2 + 1}),
            CenotaphWith(Flaw::kSupplyOverflow));
  EXPECT_EQ(Decipher({kFlags, kFlagEtching | kFlagTerms, kPremine, 1, kCap, 1, kAmount, kU128Max}),
            CenotaphWith(Flaw::kSupplyOverflow));
}

TEST(RunestoneEncipher, OrdEncipherAndSizes) {
  Runestone rs;
  rs.edicts = {Edict{RuneId{2, 3}, 1, 0}, Edict{RuneId{5, 6}, 4, 1}};
  Etching e;
  e.divisibility = 7;
  e.premine = 8;
  e.rune = Rune{9};
  e.spacers = 10;
  e.symbol = U'@';
  e.terms = Terms{14, 11, 12, 13, 15, 16};
  e.turbo = true;
  rs.etching = e;
  rs.mint = RuneId{17, 18};
  rs.pointer = 0;
  const std::vector<u128> expected{kFlags,
                                   7,
                                   kRune,
                                   9,
                                   kDivisibility,
                                   7,
                                   kSpacers,
                                   10,
                                   kSymbol,
                                   '@',
                                   kPremine,
                                   8,
                                   kAmount,
                                   14,
                                   kCap,
                                   11,
                                   kHeightStart,
                                   12,
                                   kHeightEnd,
                                   13,
                                   kOffsetStart,
                                   15,
                                   kOffsetEnd,
                                   16,
                                   kMint,
                                   17,
                                   kMint,
                                   18,
                                   kPointer,
                                   0,
                                   kBody,
                                   2,
                                   3,
                                   1,
                                   0,
                                   3,
                                   6,
                                   4,
                                   1};
  auto ints = RunestoneIntegers(RunestonePayload(rs));
  ASSERT_TRUE(ints);
  EXPECT_TRUE(*ints == expected);
  // Two outputs so that edict output 1 is valid; pointer 0 too.
  EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{EncipherRunestone(rs), Bytes{}}), RuneArtifact{rs});

  EXPECT_EQ(EncipherRunestone(Runestone{}).size(), 2u);
  Runestone r0;
  r0.etching = Etching{};
  r0.etching->rune = Rune{0};
  EXPECT_EQ(EncipherRunestone(r0).size(), 7u);
  r0.etching->divisibility = 38;
  EXPECT_EQ(EncipherRunestone(r0).size(), 9u);
  Runestone big;
  big.etching = Etching{38,
                        u128{UINT64_MAX},
                        Rune{kU128Max},
                        Etching::kMaxSpacers,
                        U'\U0010FFFF',
                        Terms{u128{UINT64_MAX}, u128{UINT32_MAX}, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX},
                        true};
  EXPECT_EQ(EncipherRunestone(big).size(), 89u);
  Runestone rmax;
  rmax.etching = Etching{};
  rmax.etching->rune = Rune{kU128Max};
  EXPECT_EQ(EncipherRunestone(rmax).size(), 25u);
  Runestone e1;
  e1.edicts = {Edict{RuneId{1000000, UINT32_MAX}, 0, 0}};
  EXPECT_EQ(EncipherRunestone(e1).size(), 14u);
  e1.edicts[0].amount = kU128Max;
  EXPECT_EQ(EncipherRunestone(e1).size(), 32u);
  e1.edicts.push_back(e1.edicts[0]);
  EXPECT_EQ(EncipherRunestone(e1).size(), 54u);
  e1.edicts.push_back(e1.edicts[0]);
  EXPECT_EQ(EncipherRunestone(e1).size(), 76u);
  Runestone five;
  five.edicts.assign(5, Edict{RuneId{1000000, UINT32_MAX}, u128{UINT64_MAX}, 0});
  EXPECT_EQ(EncipherRunestone(five).size(), 75u);
  five.edicts.assign(5, Edict{RuneId{0, UINT32_MAX}, u128{UINT64_MAX}, 0});
  EXPECT_EQ(EncipherRunestone(five).size(), 73u);
  five.edicts.assign(5, Edict{RuneId{1000000, UINT32_MAX}, 1000000000000000000ULL, 0});
  EXPECT_EQ(EncipherRunestone(five).size(), 70u);
}

// ord `runestone_payloads_are_not_chunked`: one push, whatever the size.
TEST(RunestoneEncipher, OrdPayloadsAreNotChunked) {
  for (int n : {129, 130}) {
    Runestone rs;
    rs.edicts.assign(n, Edict{});
    Bytes script = EncipherRunestone(rs);
    const std::size_t payload = 1 + 4 * static_cast<std::size_t>(n);
    ASSERT_EQ(script[2], 0x4d);  // OP_PUSHDATA2
    EXPECT_EQ(script[3] | (script[4] << 8), static_cast<int>(payload));
    EXPECT_EQ(script.size(), 5 + payload);
    EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{script}), RuneArtifact{rs});
  }
}

// Withdrawal shape: move a rune to output 1, change via pointer to output 2.
TEST(RunestoneEncipher, WithdrawalEdictAndPointer) {
  Runestone rs;
  rs.edicts = {Edict{RuneId{840000, 3}, 12345, 1}};
  rs.pointer = 2;
  Bytes script = EncipherRunestone(rs);
  EXPECT_EQ(ToHex(script), "6a5d0a160200c0a23303b96001");
  EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{script, Bytes{}, Bytes{}}), RuneArtifact{rs});
  // With only two outputs, pointer 2 is out of range: cenotaph.
  EXPECT_EQ(*DecipherRunestone(std::vector<Bytes>{script, Bytes{}}), CenotaphWith(Flaw::kUnrecognizedEvenTag));
}

// Property: encipher then decipher gives the same runestone (edicts sorted).
TEST(RunestoneRoundTrip, RandomRunestones) {
  std::mt19937_64 rng(0x6b726179);  // fixed seed: reproducible
  auto pick = [&](int bits) -> u128 {
    switch (rng() % 4) {
      case 0:
        return rng() % 4;
      case 1:
        return rng() & ((std::uint64_t{1} << (bits > 63 ? 63 : bits)) - 1);
      case 2:
        return bits >= 128 ? ~u128{0} - (rng() % 3) : (u128{1} << bits) - 1;
      default:
        return bits > 64 ? ((u128{rng()} << 64) | rng()) >> (128 - bits) : rng() >> (64 - bits);
    }
  };
  auto maybe = [&] { return rng() % 2 == 0; };
  for (int iter = 0; iter < 5000; ++iter) {
    const std::uint32_t n_outputs = 1 + rng() % 6;
    Runestone rs;
    const int n_edicts = rng() % 5;
    for (int i = 0; i < n_edicts; ++i) {
      std::uint64_t block = static_cast<std::uint64_t>(pick(64));
      std::uint32_t tx = block == 0 ? 0 : static_cast<std::uint32_t>(pick(32));
      rs.edicts.push_back(Edict{RuneId{block, tx}, pick(128), static_cast<std::uint32_t>(rng() % (n_outputs + 1))});
    }
    if (maybe()) {
      Etching e;
      if (maybe()) e.divisibility = static_cast<std::uint8_t>(rng() % 39);
      if (maybe()) e.rune = Rune{pick(128)};
      if (maybe()) e.spacers = static_cast<std::uint32_t>(rng() % (Etching::kMaxSpacers + 1ULL));
      if (maybe()) {
        char32_t c = static_cast<char32_t>(rng() % 0x110000);
        if (c >= 0xd800 && c <= 0xdfff) c = U'$';
        e.symbol = c;
      }
      if (maybe()) e.premine = pick(64);
      if (maybe()) {
        Terms t;
        if (maybe()) t.amount = pick(64);
        if (maybe()) t.cap = pick(32);
        if (maybe()) t.height_start = static_cast<std::uint64_t>(pick(64));
        if (maybe()) t.height_end = static_cast<std::uint64_t>(pick(64));
        if (maybe()) t.offset_start = static_cast<std::uint64_t>(pick(64));
        if (maybe()) t.offset_end = static_cast<std::uint64_t>(pick(64));
        e.terms = t;
      }
      e.turbo = maybe();
      rs.etching = e;
    }
    if (maybe()) {
      std::uint64_t block = static_cast<std::uint64_t>(pick(64));
      rs.mint = RuneId{block, block == 0 ? 0 : static_cast<std::uint32_t>(pick(32))};
    }
    if (maybe()) rs.pointer = static_cast<std::uint32_t>(rng() % n_outputs);
    // Supplies that overflow are cenotaphs by definition; keep them valid.
    if (rs.etching && !EtchingSupply(*rs.etching)) rs.etching->premine.reset();
    if (rs.etching && !EtchingSupply(*rs.etching)) rs.etching->terms.reset();

    std::vector<Bytes> outs(n_outputs);
    outs[rng() % n_outputs] = EncipherRunestone(rs);
    auto got = DecipherRunestone(outs);
    std::stable_sort(rs.edicts.begin(), rs.edicts.end(), [](const Edict& a, const Edict& b) { return a.id < b.id; });
    ASSERT_TRUE(got.has_value()) << iter;
    ASSERT_EQ(*got, RuneArtifact{rs}) << "iteration " << iter << " payload " << ToHex(RunestonePayload(rs));
  }
}

}  // namespace
}  // namespace kray::bitcoin
