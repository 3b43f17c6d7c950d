// An allocator for large, long-lived arrays written once (the fast backend's weight panels).
// - Blocks of 4 MiB or more are 2 MiB-aligned and advised as transparent huge pages: their
//   first touch takes one fault per 2 MiB instead of one per 4 KiB (on this machine 40 MB took
//   7 ms to touch instead of 27; the kernel's THP mode here is "madvise").
// - Elements are default-initialised, not zero-filled: the packers write every element, and a
//   zero-fill would be a second pass over tens of MB.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

namespace wisp {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    void* p = nullptr;
    if (bytes >= 2 * kHugePage) {
      const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      p = std::aligned_alloc(kHugePage, rounded);
      if (p != nullptr) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
    } else {
      p = std::malloc(bytes > 0 ? bytes : 1);
    }
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }

  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialisation: no zero-fill
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

// A weight panel buffer.
template <typename T>
using PanelVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace wisp
