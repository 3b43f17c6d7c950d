// The shared state behind `wisp serve`, free of HTTP: the loaded models by name (each engine
// immutable and shared by every request for it) and the admission of transcriptions — at most
// `parallel` run at once, each on a slot with its own ThreadPool / OpContext (so per-request
// decoder state never meets another request's), and at most `max_queue` more wait; beyond that
// a request is refused at once (429) instead of piling up threads and memory.
#pragma once
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "ops/ops.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace wisp::server {

// `-m NAME=MODEL` or `-m MODEL`, split; the name of a bare MODEL is ModelNameFor(MODEL).
struct ModelSpec {
  std::string name;
  std::string model;  // a path or a catalogue name, resolved by the front end
};
Result<ModelSpec> ParseModelSpec(const std::string& arg);

// The name a model answers to when none is given: a catalogue name as it is ("tiny.en"), a path
// by its file or directory name without ".bin" and whisper.cpp's "ggml-" prefix
// ("/m/ggml-base.en.bin" -> "base.en").
std::string ModelNameFor(const std::string& model);

class ModelRegistry {
 public:
  // The first model added is the default. A name given twice is InvalidArgument.
  Status Add(const std::string& name, std::shared_ptr<const WhisperEngine> engine);

  // The engine for a request's `model` field: empty, or "whisper-1" (the name OpenAI's clients
  // default to) unless a model was loaded under that name, picks the default. Null if unknown.
  const WhisperEngine* Find(std::string_view name) const;
  // The name Find resolved `name` to ("" if unknown).
  std::string Resolve(std::string_view name) const;

  std::vector<std::string> names() const;
  bool empty() const { return models_.empty(); }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<const WhisperEngine>>> models_;
};

// One transcription at a time runs on a slot: its own worker threads and op context.
struct Slot {
  explicit Slot(int threads, Backend backend) : pool(threads) {
    ctx.pool = &pool;
    ctx.backend = backend;
  }
  ThreadPool pool;
  OpContext ctx;
};

class Admission {
 public:
  Admission(int parallel, int max_queue, int threads_per_slot, Backend backend);

  // A request's place: holds one of the parallel + max_queue places until destroyed, and a slot
  // once Acquire succeeded. Movable, so a streaming response can keep it until the stream ends.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept : owner_(other.owner_), slot_(other.slot_) {
      other.owner_ = nullptr;
      other.slot_ = nullptr;
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

    // Waits for a free slot until deadline; null when none came free in time.
    Slot* Acquire(std::chrono::steady_clock::time_point deadline);

   private:
    friend class Admission;
    explicit Ticket(Admission* owner) : owner_(owner) {}
    Admission* owner_;
    Slot* slot_ = nullptr;
  };

  // A place, or nothing when parallel + max_queue requests already hold one.
  std::optional<Ticket> TryEnter();

  int parallel() const { return static_cast<int>(slots_.size()); }
  int capacity() const { return capacity_; }
  int admitted() const;  // places held now (/health reports it)

 private:
  std::vector<std::unique_ptr<Slot>> slots_;
  int capacity_;
  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  std::vector<Slot*> free_;
  int admitted_ = 0;
};

// Gives the heap's free pages back to the system (glibc: malloc_trim); called when a ticket that
// ran a transcription is released, so that idle connection threads do not each keep the memory
// of the last transcription they ran.
void ReleaseFreedMemory();

// Compares a presented credential with the expected one in time independent of where they
// differ (an early mismatch must not answer faster and so leak a key prefix).
bool ConstantTimeEquals(std::string_view presented, std::string_view expected);

}  // namespace wisp::server
