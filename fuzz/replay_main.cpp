// Replays fuzz inputs through a libFuzzer target without libFuzzer, so that the committed corpus
// runs as an ordinary test under any compiler (and under ASan/UBSan in `make test SANITIZE=1`).
// Usage: <target>_replay FILE_OR_DIR...  Every regular file, directories read one level deep in
// name order. Fails when no input was found: a target without a seed corpus replays nothing.
// (libFuzzer's own main does this only when linked with -fsanitize=fuzzer, which gcc lacks.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

std::vector<std::filesystem::path> Inputs(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) in_dir.push_back(entry.path());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (std::filesystem::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
    }
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  const auto files = Inputs(argc, argv);
  if (files.empty()) {
    std::fprintf(
        stderr,
        "replay: no input files (give the target a seed corpus in fuzz/corpus/<target>/)\n");
    return 1;
  }
  std::size_t bytes = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // On a crash the sanitizer's report follows this line, which names the input.
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.filename().c_str(), data.size());
    // A copy of exactly `size` bytes, as libFuzzer hands it, so ASan sees reads past the end.
    std::vector<std::uint8_t> exact(data.begin(), data.end());
    LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
    bytes += data.size();
  }
  std::printf("replay: %zu inputs, %zu bytes, no crash\n", files.size(), bytes);
  return 0;
}
