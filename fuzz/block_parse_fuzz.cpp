// libFuzzer target for the block parser and the block commitment checks.
// Properties: no crash / sanitizer report; an accepted block re-serializes to
// exactly the input (only canonical encodings are accepted), re-parses equal,
// and CheckBlockCommitments answers (either way) without failing to return;
// the header re-parses from its 80 bytes. Build and run: docs/FUZZING.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kray/bitcoin/block.h"

namespace {

void Check(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kray::bitcoin;
  const kray::ByteSpan input(data, size);
  auto block = ParseBlock(input);
  if (!block.ok()) return 0;
  const kray::Bytes again = SerializeBlock(*block);
  Check(again.size() == size && std::equal(again.begin(), again.end(), data));
  auto reparsed = ParseBlock(again);
  Check(reparsed.ok() && *reparsed == *block);
  auto header = ParseBlockHeader(SerializeBlockHeader(block->header));
  Check(header.ok() && *header == block->header);
  Check(BlockHash(block->header) == BlockHash(*header));
  (void)CheckBlockCommitments(*block);
  return 0;
}
