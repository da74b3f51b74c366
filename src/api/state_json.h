// Private to src/api: JSON mapping of state types shared by the handlers,
// and the operator-token check.
#pragma once

#include <string>

#include "kray/api/handlers.h"
#include "kray/api/json_util.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/types.h"

namespace kray::api {

// Credits of the gas token formatted with its decimals ("1.500").
std::string KrayString(Amount credits);

Json TxRecordJson(const state::TxRecord& tx);
Json ReceiptJson(const state::Receipt& r);

// Parses one transfer object of /send or /batch into a TransferTx, with
// defaults (tx_type transfer, asset KRAY, sig_scheme legacy for a plain KRAY
// transfer without data, else v1).
Result<state::TransferTx> ParseTransferJson(const Json& obj, const ChainParams& params);

// Ok if `req` carries "Authorization: Bearer <ctx.rpctoken>" (the configured
// rpctoken, or krayd's cookie token when none is configured), compared in
// constant time (TokenMatches). With no token at all: 503 operator_disabled.
// Wrong, missing, or a prefix of the token: 401 unauthorized.
Status CheckOperator(const HttpRequest& req, const ApiContext& ctx);

}  // namespace kray::api
