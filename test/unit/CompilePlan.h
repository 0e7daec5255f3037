// For executor tests: compiles a model with varc (VARC_PATH, a compile
// definition of the test) and loads the plan for one rank.
#ifndef VAR_TEST_UNIT_COMPILEPLAN_H
#define VAR_TEST_UNIT_COMPILEPLAN_H

#include "runtime/plan/PlanFile.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

#ifndef VARC_PATH
#error "VARC_PATH must name the varc binary"
#endif

namespace var::test {

/// `model` compiled with `flags` into a file under the temporary
/// directory's `folder`, loaded and resolved for one rank; a failure is a
/// test failure.
inline plan::Plan compilePlan(const std::string &model,
                              const std::string &flags,
                              const std::string &folder) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / folder;
  std::filesystem::create_directories(dir);
  std::string name = flags;
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  std::filesystem::path path = dir / (name + ".fb");
  std::string command = std::string(VARC_PATH) + " " + model + " " + flags +
                        " -o " + path.string() + " 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  plan::Expected<plan::Plan> loaded = plan::loadPlan(path);
  EXPECT_TRUE(loaded) << loaded.error();
  plan::Expected<plan::Plan> resolved = loaded->resolve(1);
  EXPECT_TRUE(resolved) << resolved.error();
  return *resolved;
}

} // namespace var::test

#endif
