// BIP-380 output descriptor checksums: the 8-character BCH checksum that
// follows '#', computed over the descriptor's INPUT_CHARSET symbols. Only the
// checksum layer lives here; krayd builds its one descriptor shape in
// multisig.h instead of parsing general descriptors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kray/core/result.h"

namespace kray::bitcoin {

// Checksum of `desc` (which must not contain '#'). nullopt if a character is
// outside BIP-380's INPUT_CHARSET.
std::optional<std::string> DescriptorChecksum(std::string_view desc);

// desc + "#" + checksum. Error "descriptor_invalid_character".
Result<std::string> AddDescriptorChecksum(std::string_view desc);

// Validates "desc#checksum" and returns the part before '#'. With
// require_checksum=false a descriptor without '#' is accepted as is.
// Errors: "descriptor_missing_checksum", "descriptor_bad_checksum_length",
// "descriptor_bad_checksum", "descriptor_invalid_character".
Result<std::string> CheckDescriptorChecksum(std::string_view desc_with_checksum, bool require_checksum = true);

}  // namespace kray::bitcoin
