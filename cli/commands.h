#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace rt::cli {

// Exit codes of every rtctl subcommand (docs/cli.md, "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Each subcommand file defines one Setup function: it adds the subcommand and its
// options to `app` and returns the function that runs it once parsing succeeded.
// The options live in a struct owned by that closure (CLI11's subcom_in_files).
using CommandRunner = std::function<int()>;

CommandRunner SetupValidateConfig(CLI::App& app);
CommandRunner SetupServeWorker(CLI::App& app);
CommandRunner SetupServeApi(CLI::App& app);
CommandRunner SetupSend(CLI::App& app);
CommandRunner SetupQuery(CLI::App& app);
CommandRunner SetupPerWorker(CLI::App& app);
CommandRunner SetupAllSlices(CLI::App& app);
CommandRunner SetupSimulate(CLI::App& app);
CommandRunner SetupSlice(CLI::App& app);
CommandRunner SetupWorkerKey(CLI::App& app);
CommandRunner SetupWorkerGet(CLI::App& app);
CommandRunner SetupReseedWorker(CLI::App& app);
CommandRunner SetupConfig(CLI::App& app);
CommandRunner SetupStatus(CLI::App& app);
// Hidden; needs `app` to outlive the runner (it walks the whole App).
CommandRunner SetupCompletion(CLI::App& app);

}  // namespace rt::cli
