#include "server/serving.h"

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace wisp::server {

Result<ModelSpec> ParseModelSpec(const std::string& arg) {
  if (arg.empty()) return InvalidArgument("-m/--model: empty model");
  const size_t eq = arg.find('=');
  // A path may itself hold '=', so NAME=MODEL is split only when NAME looks like a name.
  if (eq != std::string::npos && eq > 0 && arg.find('/') > eq) {
    ModelSpec spec{arg.substr(0, eq), arg.substr(eq + 1)};
    if (spec.model.empty()) return InvalidArgument("-m/--model " + arg + ": no MODEL after '='");
    return spec;
  }
  return ModelSpec{ModelNameFor(arg), arg};
}

std::string ModelNameFor(const std::string& model) {
  std::string name = model;
  while (name.size() > 1 && name.back() == '/') name.pop_back();  // a CTranslate2 directory "dir/"
  const size_t slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0) name.resize(name.size() - 4);
  if (name.size() > 5 && name.compare(0, 5, "ggml-") == 0) name = name.substr(5);
  return name;
}

Status ModelRegistry::Add(const std::string& name, std::shared_ptr<const WhisperEngine> engine) {
  if (name.empty()) return InvalidArgument("a model needs a name");
  for (const auto& [existing, _] : models_) {
    if (existing == name) {
      return InvalidArgument("two models are named '" + name + "': name them apart with -m NAME=MODEL");
    }
  }
  models_.emplace_back(name, std::move(engine));
  return Status::Ok();
}

std::string ModelRegistry::Resolve(std::string_view name) const {
  if (models_.empty()) return "";
  for (const auto& [existing, _] : models_) {
    if (existing == name) return existing;
  }
  if (name.empty() || name == "whisper-1") return models_.front().first;
  return "";
}

const WhisperEngine* ModelRegistry::Find(std::string_view name) const {
  const std::string resolved = Resolve(name);
  for (const auto& [existing, engine] : models_) {
    if (!resolved.empty() && existing == resolved) return engine.get();
  }
  return nullptr;
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : models_) out.push_back(name);
  return out;
}

Admission::Admission(int parallel, int max_queue, int threads_per_slot, Backend backend)
    : capacity_(std::max(parallel, 1) + std::max(max_queue, 0)) {
  for (int i = 0; i < std::max(parallel, 1); ++i) {
    slots_.push_back(std::make_unique<Slot>(std::max(threads_per_slot, 1), backend));
    free_.push_back(slots_.back().get());
  }
}

std::optional<Admission::Ticket> Admission::TryEnter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (admitted_ >= capacity_) return std::nullopt;
  ++admitted_;
  return Ticket(this);
}

int Admission::admitted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return admitted_;
}

Slot* Admission::Ticket::Acquire(std::chrono::steady_clock::time_point deadline) {
  if (owner_ == nullptr) return nullptr;
  if (slot_ != nullptr) return slot_;
  std::unique_lock<std::mutex> lock(owner_->mu_);
  if (!owner_->slot_freed_.wait_until(lock, deadline, [this] { return !owner_->free_.empty(); })) return nullptr;
  slot_ = owner_->free_.back();
  owner_->free_.pop_back();
  return slot_;
}

Admission::Ticket::~Ticket() {
  if (owner_ == nullptr) return;
  const bool ran = slot_ != nullptr;
  {
    std::lock_guard<std::mutex> lock(owner_->mu_);
    if (ran) owner_->free_.push_back(slot_);
    --owner_->admitted_;
  }
  owner_->slot_freed_.notify_one();
  if (ran) ReleaseFreedMemory();
}

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  // A transcription runs on its connection's thread, and glibc gives each thread its own malloc
  // arena, which keeps what the request freed (~65 MB on tiny.en) for that thread: with the
  // server's parallel + max_queue + 4 connection threads, RSS grew from 120 MB to 900 MB under
  // load though nothing leaked. Handing the free pages back keeps it at what runs.
  malloc_trim(0);
#endif
}

bool ConstantTimeEquals(std::string_view presented, std::string_view expected) {
  // Every byte of the expected key is visited whatever the presented one holds; the length
  // difference is folded in rather than returned early.
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= p ^ static_cast<unsigned char>(expected[i]);
  }
  // volatile keeps the compiler from turning the loop back into an early-exit compare.
  volatile unsigned result = diff;
  return result == 0;
}

}  // namespace wisp::server
