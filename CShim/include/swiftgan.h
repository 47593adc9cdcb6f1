/*
 * swiftgan.h: the C ABI of the swiftgan engine (libswiftgan.so).
 *
 * Every function that can fail returns an int32_t status (SG_OK or one of SG_E*); the message of the last
 * failure on the calling thread is available from sg_last_error(). No function traps on bad input. A failed
 * call leaves its out-parameters untouched, so the caller has nothing to release.
 * Tensors are opaque, reference-counted handles: every sg_tensor* handed out must be released once with
 * sg_tensor_release(). Tensors are float32, C-contiguous, at most SG_MAX_NDIM dimensions.
 */
#ifndef SWIFTGAN_H
#define SWIFTGAN_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SG_MAX_NDIM 8

enum {
    SG_OK = 0,
    SG_EVALUE = 1,    /* bad argument value or shape (Python ValueError) */
    SG_ETYPE = 2,     /* wrong dtype or kind (Python TypeError) */
    SG_EIO = 3,       /* file errors (Python OSError) */
    SG_EMEMORY = 4,   /* allocation failed or too large (Python MemoryError) */
    SG_EINTERNAL = 5, /* anything else (swiftgan.SwiftGANError) */
    SG_ECANCELLED = 6 /* a training step stopped on request and rolled back (Python KeyboardInterrupt) */
};

typedef struct sg_tensor sg_tensor;

/* The message of the last failed call on this thread ("" if none). Valid until the next call on this thread. */
const char *sg_last_error(void);

/* Threads used by the engine's parallel loops and by OpenBLAS; n >= 1. */
int32_t sg_set_num_threads(int32_t n);
int32_t sg_get_num_threads(void);

/* The cache of freed large buffers that later tensors of the same size reuse (no page faults on repeated calls):
   its limit in bytes (0 turns it off; lowering it frees buffers beyond the new limit), the bytes it holds, and
   freeing everything it holds. */
int32_t sg_set_cache_limit(int64_t bytes);
int64_t sg_get_cache_limit(void);
int64_t sg_cached_bytes(void);
void sg_empty_cache(void);

/* Whether ops record on the autodiff tape (thread-local; default 1). Returns the previous value. */
int32_t sg_set_grad_enabled(int32_t enabled);

/* --- tensors --- */
/* A new tensor holding a copy of `data` (count = product of shape; data may be NULL when count is 0). */
int32_t sg_tensor_create(const float *data, const int64_t *shape, int32_t ndim, int32_t requires_grad,
                         sg_tensor **out);
/* Releases a handle (NULL is ignored). */
void sg_tensor_release(sg_tensor *t);
int32_t sg_tensor_ndim(const sg_tensor *t);
/* Writes ndim entries to shape. */
int32_t sg_tensor_shape(const sg_tensor *t, int64_t *shape);
int64_t sg_tensor_numel(const sg_tensor *t);
/* Copies the tensor's numel floats into dst, which holds `capacity` floats. */
int32_t sg_tensor_read(const sg_tensor *t, float *dst, int64_t capacity);
/* Overwrites the tensor's values in place (a parameter update from outside); count must equal numel. */
int32_t sg_tensor_write(sg_tensor *t, const float *src, int64_t count);
int32_t sg_tensor_requires_grad(const sg_tensor *t);
/* Only leaves (tensors no op produced) may change requires_grad. */
int32_t sg_tensor_set_requires_grad(sg_tensor *t, int32_t requires_grad);
/* The accumulated gradient of a leaf, or *out = NULL when there is none. */
int32_t sg_tensor_grad(const sg_tensor *t, sg_tensor **out);
int32_t sg_tensor_zero_grad(sg_tensor *t);
/* A tensor sharing values with t, cut from the tape. */
int32_t sg_tensor_detach(const sg_tensor *t, sg_tensor **out);

/* --- ops --- */
/* Runs the op `name` (see sg_op_names) on named inputs and numeric attributes; records on the tape when
 * grad is enabled and an input requires grad. inputs[i] may be NULL for an absent optional input. */
int32_t sg_op(const char *name,
              int32_t n_inputs, const char *const *input_names, sg_tensor *const *inputs,
              int32_t n_attrs, const char *const *attr_names, const double *attr_values,
              sg_tensor **out);
/* A comma-separated list of every op name (static storage). */
const char *sg_op_names(void);

/* The algorithm that computes each pass of conv2d (transposed != 0: conv_transpose2d) on inputs of these shapes
 * (x [N, C, H, W], weight in the op's layout): names[0] for its forward pass, names[1] for the gradient of x,
 * names[2] for the gradient of the weight, each one of "fully_connected", "pointwise", "direct", "winograd",
 * "phases", "split_phases", "stride2_im2col", "im2col" (static strings). Fails as the op would on these shapes. */
int32_t sg_conv_algorithms(const int64_t *x_shape, int32_t x_ndim, const int64_t *weight_shape, int32_t weight_ndim,
                           int32_t stride, int32_t padding, int32_t output_padding, int32_t transposed,
                           const char **names);

/* --- autodiff --- */
/* Gradients of sum_i <outputs[i], grad_outputs[i]> with respect to inputs (torch.autograd.grad).
 * grad_outputs may be NULL, or hold NULL entries, for scalar outputs (gradient 1). grads[j] is set to a new
 * handle or NULL where inputs[j] does not influence the outputs (also when no output requires grad: a
 * gradient that is identically zero is NULL, not an error). With create_graph the gradients are
 * themselves on the tape, so they can be differentiated again. */
int32_t sg_grad(int32_t n_outputs, sg_tensor *const *outputs, sg_tensor *const *grad_outputs,
                int32_t n_inputs, sg_tensor *const *inputs, int32_t create_graph, sg_tensor **grads);
/* Accumulates the gradient of <output, grad_output> into the .grad of every leaf that requires grad
 * (Tensor.backward). grad_output may be NULL for a scalar output. */
int32_t sg_backward(sg_tensor *output, sg_tensor *grad_output, int32_t create_graph);

/* --- random numbers --- */
/* Counter-based (Philox4x32-10) samples: the same seed and offset always give the same values. */
int32_t sg_random_normal(uint64_t seed, uint64_t offset, const int64_t *shape, int32_t ndim, sg_tensor **out);
int32_t sg_random_uniform(uint64_t seed, uint64_t offset, const int64_t *shape, int32_t ndim, sg_tensor **out);

/* --- optimizers --- */
typedef struct sg_optimizer sg_optimizer;
/* kind: "adam" or "sgd". Adam attrs: lr, beta1, beta2, eps, weight_decay. SGD attrs: lr, momentum,
 * weight_decay. The optimizer keeps references to the parameters. */
int32_t sg_optimizer_create(const char *kind, int32_t n_params, sg_tensor *const *params,
                            int32_t n_attrs, const char *const *attr_names, const double *attr_values,
                            sg_optimizer **out);
void sg_optimizer_release(sg_optimizer *o);
/* One update from the parameters' .grad, at learning rate lr (the schedule lives with the caller). */
int32_t sg_optimizer_step(sg_optimizer *o, double lr);
int32_t sg_optimizer_zero_grad(sg_optimizer *o);
/* State: the step count and, per parameter, its state tensors (Adam: m, v; SGD: momentum buffer). */
int64_t sg_optimizer_get_step(const sg_optimizer *o);
int32_t sg_optimizer_set_step(sg_optimizer *o, int64_t step);
/* Number of state tensors per parameter (Adam 2, SGD 1). */
int32_t sg_optimizer_slots(const sg_optimizer *o);
/* The state tensor `slot` of parameter `index` (a new handle sharing the optimizer's storage). */
int32_t sg_optimizer_state(const sg_optimizer *o, int32_t index, int32_t slot, sg_tensor **out);

/* Exponential moving average: ema[i] = decay * ema[i] + (1 - decay) * params[i], in place. */
int32_t sg_ema_update(int32_t n, sg_tensor *const *ema, sg_tensor *const *params, double decay);

/* --- models ---
 * A model owns its networks, optimizers, RNG and step counter; one call runs one whole training step in Swift.
 * Kinds: "dcgan", "cyclegan", "stylegan". Each kind's configuration is declared once in the engine; its schema is a
 * JSON list of fields in declaration order, each {"name", "type" (a Python type: "int", "float", "bool", "str",
 * "tuple[float, float]", or "<type> | None"), "default", "doc", and for numbers "accepts" (a description such as
 * "1 to 64"), "minimum", "maximum", "choices" where they apply}; the last field is "seed". */
typedef struct sg_model sg_model;
/* *out = the schema of `kind` as JSON text (static storage). */
int32_t sg_model_config_schema(const char *kind, const char **out);
/* A model of `kind` from `config`, a JSON object of schema fields (absent ones take their defaults; unknown names,
 * values of the wrong type (SG_ETYPE) or outside what a field accepts (SG_EVALUE) are refused, naming the field).
 * max_state_floats >= 0 caps the floats building the model may allocate (SG_EMEMORY beyond), -1 for no cap.
 * Names lists returned below are comma-separated, in a fixed order, valid until the model is released. */
int32_t sg_model_create(const char *kind, const char *config, int64_t max_state_floats, sg_model **out);
void sg_model_release(sg_model *m);
/* The losses and statistics train_step reports (dcgan: "loss_d,loss_g,d_real,d_fake"; cyclegan:
 * "D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B"; stylegan: "loss_g,loss_d,loss_pl,loss_r1,d_real,d_fake,pl_mean,augment_p",
 * the penalties as of their last lazy step, d_real and d_fake as mean logits). */
const char *sg_model_loss_names(const sg_model *m);
/* One training step on the given batches (dcgan: one batch of real images [B, C, H, W] in [-1, 1]; cyclegan: a batch
 * from domain A and one from domain B, [B, C, image_size, image_size]).
 * Writes one value per loss name into losses, which holds `capacity` doubles. */
int32_t sg_model_train_step(sg_model *m, int32_t n_inputs, sg_tensor *const *inputs, double *losses, int32_t capacity);
/* sg_model_train_step that can be stopped part-way: until the step's final updates, should_stop(context) is called
 * about every 50 ms from the calling thread; when it returns nonzero the step is rolled back, leaving the model
 * exactly as it was, and SG_ECANCELLED is returned. A step that fails for any other reason before its final
 * updates is rolled back too. (Under data parallelism steps are not interruptible.) */
int32_t sg_model_train_step_interruptible(sg_model *m, int32_t n_inputs, sg_tensor *const *inputs, double *losses,
                                          int32_t capacity, int32_t (*should_stop)(void *context), void *context);
/* The networks (dcgan "G,D"; cyclegan "G_A,G_B,D_A,D_B"; stylegan "G,D,G_ema": G and G_ema take z [N, z_dim]). */
const char *sg_model_net_names(const sg_model *m);
/* Runs network `net` forward on x without recording (training: batch statistics, and their running averages are
 * updated, as in a training step; otherwise evaluation mode). dcgan G takes z [N, nz] or [N, nz, 1, 1]. */
int32_t sg_model_forward(sg_model *m, const char *net, sg_tensor *x, int32_t training, sg_tensor **out);
/* n samples drawn from `seed` alone (not from the training RNG), G in evaluation mode: [n, C, H, W] in [-1, 1].
 * (cyclegan translates instead: use sg_model_forward with G_A or G_B.) */
int32_t sg_model_generate(sg_model *m, int32_t n, uint64_t seed, sg_tensor **out);
/* Every state tensor: network parameters and buffers under "<net>.<reference name>" (dcgan "G.main.0.weight",
 * "D.main.1.running_mean"), optimizer state under "opt_<optimizer>.exp_avg.<parameter state name>" and
 * "opt_<optimizer>.exp_avg_sq.<parameter state name>" (dcgan "opt_G.exp_avg.G.main.0.weight"), then model-specific
 * state (cyclegan "pool_A", "pool_B": [pool_size, C, image_size, image_size]; stylegan "pl_mean", and with ADA
 * "augment_p", "ada_signs"). */
const char *sg_model_state_names(const sg_model *m);
/* The live tensor of a state entry: it shares storage with the model, so writing into it changes the model. */
int32_t sg_model_state_tensor(sg_model *m, const char *name, sg_tensor **out);
/* Model-specific methods on named inputs and numeric attributes:
 *   stylegan "mapping": z [N, z_dim] (and c [N, c_dim] for a conditional model) -> ws [N, num_ws, w_dim];
 *            truncation_psi (1), truncation_cutoff (all), ema (1: G_ema), truncated as the config's rule says
 *   stylegan "synthesis": ws -> images [N, C, R, R]; noise_mode (0 random, 1 const, 2 none; 1), seed (0, for random
 *            noise), ema (1)
 *   stylegan "discriminate": images [N, C, R, R] (and c) -> D's logits [N, 1], not augmented */
int32_t sg_model_call(sg_model *m, const char *method, int32_t n_inputs, const char *const *input_names,
                      sg_tensor *const *inputs, int32_t n_attrs, const char *const *attr_names, const double *attr_values,
                      sg_tensor **out);
/* Integer state: "step", "rng_seed", "rng_offset", "opt_<optimizer>.step", then model-specific counters
 * (cyclegan "pool_A.count", "pool_B.count", and "epoch_steps", which may be set once the data size is known;
 * stylegan "images" (real images seen: v1's growth clock) and with ADA "ada_count"). */
const char *sg_model_counter_names(const sg_model *m);
int32_t sg_model_get_counter(const sg_model *m, const char *name, int64_t *value);
int32_t sg_model_set_counter(sg_model *m, const char *name, int64_t value);

/* ---- Projection of an image into a StyleGAN2's latent space (NVlabs' projector.py recipe) ----
 * The projector keeps its own copy of the model's G_ema (and D), so the model may be used meanwhile. */
typedef struct sg_projector sg_projector;
/* A projection of target [1, C, R, R] (values in [-1, 1]) into a stylegan model's latent space; c: labels [1, c_dim]
 * for a conditional model (the class whose ws give w's statistics), NULL otherwise. Attributes (defaults):
 * space (0: one w, 1: w+, one w per layer; 0), distance (0: MSE at every scale of an average-pooling pyramid, 1: plus
 * the model's D's unit-normalized features, which needs D; 0), initial_noise (0: fresh Gaussian noise maps, 1: the
 * model's constant noise; 1), num_steps (1000), w_avg_samples (10000),
 * initial_learning_rate (0.1), initial_noise_factor (0.05), lr_rampdown_length (0.25), lr_rampup_length (0.05),
 * noise_ramp_length (0.75), regularize_noise_weight (1e5), seed (303). */
int32_t sg_projector_create(sg_model *m, sg_tensor *target, sg_tensor *c, int32_t n_attrs,
                            const char *const *attr_names, const double *attr_values, sg_projector **out);
void sg_projector_release(sg_projector *p);
/* One optimization step (at most num_steps in all); losses[0..2] = the loss, the image distance and the noise
 * regularization. With should_stop it is asked about every 50 ms until the step's updates; when it returns nonzero the
 * step is abandoned, leaving the projection as it was, and SG_ECANCELLED is returned. */
int32_t sg_projector_step(sg_projector *p, double *losses, int32_t (*should_stop)(void *context), void *context);
int32_t sg_projector_steps_taken(const sg_projector *p, int64_t *out);
/* "ws,image,noise.<layer>,...": ws [1, num_ws, w_dim], the image [1, C, R, R] of the current ws and noise maps, and
 * each noise map [r, r] under its name in the synthesis network ("noise.b8.conv0.noise_const"). */
const char *sg_projector_tensor_names(const sg_projector *p);
/* A copy of one of those tensors. */
int32_t sg_projector_tensor(sg_projector *p, const char *name, sg_tensor **out);

/* ---- Data parallelism over MPI (Open MPI, loaded with dlopen only by sg_dist_init) ----
 * sg_dist_init loads `library` (NULL: $SWIFTGAN_MPI_LIBRARY, then libmpi.so.40, libmpi.so), calls MPI_Init_thread
 * (MPI_THREAD_SERIALIZED) unless MPI is already initialized, and writes this process's rank and the world size; later
 * calls return the same. The collectives below must be called by every rank in the same order. */
int32_t sg_dist_init(const char *library, int32_t *rank, int32_t *size);
/* MPI_Finalize, when sg_dist_init initialized MPI; no collective may follow. */
int32_t sg_dist_finalize(void);
int32_t sg_dist_barrier(void);
/* MPI_Abort: ends every rank of the job with exit status `code` (a rank failing alone must not wait in MPI_Finalize). */
int32_t sg_dist_abort(int32_t code);
/* Sums n doubles element-wise over all ranks, in place. */
int32_t sg_dist_allreduce_sum(double *values, int32_t n);
/* enabled != 0: broadcasts rank 0's whole state (tensors and counters) to every rank, then makes every optimizer
 * average its gradients over the ranks before each update, shards the training RNG by rank (rank r draws slice r of
 * the global batch's draw) and averages the losses train_step reports; sync_batchnorm != 0 takes BatchNorm's batch
 * statistics over all ranks' batches during train_step (per-rank statistics otherwise). enabled == 0 detaches. */
int32_t sg_model_set_data_parallel(sg_model *m, int32_t enabled, int32_t sync_batchnorm);

#ifdef __cplusplus
}
#endif
#endif
