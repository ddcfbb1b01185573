#include "creatify/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace creatify {

void AdviseHugePages(void* data, std::size_t bytes) {
  if (bytes < kHugePageMinBytes) return;
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHugePage = 2u << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t last = (begin + bytes) & ~(kHugePage - 1);
  // A kernel without huge pages refuses the advice, and nothing changes.
  if (first < last)
    madvise(static_cast<char*>(data) + (first - begin), last - first, MADV_HUGEPAGE);
#else
  (void)data;
#endif
}

}  // namespace creatify
