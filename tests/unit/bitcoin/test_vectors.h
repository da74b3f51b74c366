// Loads an official vector file copied into tests/vectors/.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace kray::testing {

inline nlohmann::json LoadVector(const std::string& name) {
  std::ifstream in(std::string(KRAY_TEST_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << "cannot open vector file " << name;
  return nlohmann::json::parse(in);
}

}  // namespace kray::testing
