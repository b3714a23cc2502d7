// A libtorch autograd node whose forward and backward are Rust functions (src/host_function.rs):
// tch exposes no custom autograd function, and the host loops of tch-distributions need one to
// take part in a graph. The node saves its inputs, so gradients of gradients (create_graph)
// reach them too when the Rust backward records its own graph.
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The Rust side. Tensors cross as `at::Tensor*` (tch's `C_tensor`): those passed to Rust are
// new handles Rust owns; those Rust hands back are handles C++ takes over (see `take`). Each
// call returns nullptr or an error message, given back to `free_message`.
struct HostVTable {
  char* (*forward)(void* state, at::Tensor** inputs, int64_t n, at::Tensor** out);
  char* (*backward)(void* state, at::Tensor** inputs, int64_t n, at::Tensor* grad, const uint8_t* needs,
                    at::Tensor** out);
  void (*drop)(void* state);
  void (*free_message)(char* message);
};

// The boxed Rust function, dropped with the last node (or failed call) holding it.
struct State : torch::CustomClassHolder {
  void* data;
  const HostVTable* vt;
  State(void* data, const HostVTable* vt) : data(data), vt(vt) {}
  ~State() override { vt->drop(data); }
};

void check(const HostVTable* vt, char* message) {
  if (message != nullptr) {
    std::string text(message);
    vt->free_message(message);
    throw std::runtime_error(text);
  }
}

at::Tensor take(at::Tensor* p) {
  if (p == nullptr) return at::Tensor();
  at::Tensor t = *p;
  delete p;
  return t;
}

std::vector<at::Tensor*> handles(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor*> out;
  for (const auto& t : tensors) out.push_back(new at::Tensor(t));
  return out;
}

struct HostFunction : torch::autograd::Function<HostFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                                                c10::intrusive_ptr<State> state) {
    auto in = handles(inputs.vec());
    at::Tensor* out = nullptr;
    check(state->vt, state->vt->forward(state->data, in.data(), static_cast<int64_t>(in.size()), &out));
    ctx->save_for_backward(inputs.vec());
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return {take(out)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto state = c10::static_intrusive_pointer_cast<State>(ctx->saved_data["state"].toCapsule());
    auto saved = ctx->get_saved_variables();
    auto in = handles(saved);
    std::vector<uint8_t> needs(saved.size());
    for (size_t i = 0; i < saved.size(); ++i) needs[i] = ctx->needs_input_grad(i) ? 1 : 0;
    std::vector<at::Tensor*> out(saved.size(), nullptr);
    auto* grad = new at::Tensor(grads[0]);
    check(state->vt, state->vt->backward(state->data, in.data(), static_cast<int64_t>(in.size()), grad,
                                         needs.data(), out.data()));
    torch::autograd::variable_list result;
    for (auto* p : out) result.push_back(take(p));
    result.emplace_back();  // the state argument
    return result;
  }
};

}  // namespace

extern "C" {

// The output of the node over `inputs` (`n` handles, borrowed), into `*out`; `state` is owned
// from here on. Returns nullptr or an error message for `tchd_free_message`.
char* tchd_host_function(at::Tensor* const* inputs, int64_t n, void* state, const HostVTable* vt, at::Tensor** out) {
  try {
    auto s = c10::make_intrusive<State>(state, vt);
    std::vector<at::Tensor> in;
    for (int64_t i = 0; i < n; ++i) in.push_back(*inputs[i]);
    auto result = HostFunction::apply(at::TensorList(in), s);
    *out = new at::Tensor(result[0]);
    return nullptr;
  } catch (const std::exception& e) {
    return strdup(e.what());
  }
}

void tchd_free_message(char* message) { free(message); }

}
