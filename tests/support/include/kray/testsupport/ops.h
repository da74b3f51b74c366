// Building and signing operations in tests, with the node's own request
// code (state/request.h), so tests sign exactly what wallets sign.
#pragma once

#include <cstdint>
#include <string>

#include "kray/core/params.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"
#include "kray/state/request.h"
#include "kray/testsupport/keys.h"

namespace kray::test {

// A transfer request as /api/transaction/send takes it (from/to as sent).
state::OperationRequest TransferRequest(const std::string& from, const std::string& to, Amount amount,
                                        std::uint64_t nonce, const std::string& asset = "KRAY",
                                        const std::string& data = "", const std::string& scheme = "");

// Builds the request's operation and signs it with `key` (the scheme the
// request names, else the type's default). Fails like BuildOperation.
Result<state::Operation> SignOperation(const ChainParams& params, const state::ModuleRegistry& registry,
                                       state::OperationRequest request, const TestKey& key);

// An account_create request (public; signed as proof of possession when `sign`).
Result<state::Operation> AccountCreate(const ChainParams& params, const state::ModuleRegistry& registry,
                                       const TestKey& key, bool sign = false);

}  // namespace kray::test
