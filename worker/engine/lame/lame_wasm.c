/*
 * The C side of worker/engine/lame.ts: one LAME 3.100 VBR encoder over float PCM, with the few
 * calls the engine needs. Built to lame.wasm by build.sh (wasm32-wasi, -O3, SIMD).
 */
#include <lame.h>
#include <stdarg.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))

typedef struct {
  lame_global_flags *gfp;
  float *pcm[2];         /* left, right: room for `capacity` samples each */
  unsigned int capacity;
  unsigned char *out;    /* the frames of the last call */
  unsigned int out_size;
} encoder;

/* LAME's messages go nowhere: the caller reads a return code. */
static void quiet(const char *format, va_list ap) {
  (void)format;
  (void)ap;
}

/* An encoder, or 0. quality: LAME's -q (0 best … 9 fastest), or -1 for LAME's default (3). */
EXPORT("enc_create")
encoder *enc_create(int sample_rate, int channels, float vbr_quality, int quality) {
  encoder *e = calloc(1, sizeof(encoder));
  if (!e) return 0;
  e->gfp = lame_init();
  if (!e->gfp) {
    free(e);
    return 0;
  }
  lame_set_errorf(e->gfp, quiet);
  lame_set_debugf(e->gfp, quiet);
  lame_set_msgf(e->gfp, quiet);
  lame_set_num_channels(e->gfp, channels);
  lame_set_in_samplerate(e->gfp, sample_rate);
  lame_set_out_samplerate(e->gfp, sample_rate);
  lame_set_bWriteVbrTag(e->gfp, 0);
  lame_set_VBR(e->gfp, vbr_default);
  lame_set_VBR_quality(e->gfp, vbr_quality);
  if (quality >= 0) lame_set_quality(e->gfp, quality);
  if (lame_init_params(e->gfp) < 0) {
    lame_close(e->gfp);
    free(e);
    return 0;
  }
  return e;
}

/* Room for n samples a channel: the address of the two channel pointers, or 0. */
EXPORT("enc_pcm")
float **enc_pcm(encoder *e, unsigned int n) {
  if (n > e->capacity) {
    free(e->pcm[0]);
    free(e->out);
    e->pcm[0] = malloc(n * 2 * sizeof(float));
    e->pcm[1] = e->pcm[0] ? e->pcm[0] + n : 0;
    e->out_size = n + n / 4 + 7200; /* LAME's worst case for n samples */
    e->out = malloc(e->out_size);
    e->capacity = e->pcm[0] && e->out ? n : 0;
    if (!e->capacity) return 0;
  }
  return e->pcm;
}

EXPORT("enc_out")
unsigned char *enc_out(encoder *e) { return e->out; }

/* Encodes n samples a channel from the PCM buffers: the bytes written to enc_out, or < 0. */
EXPORT("enc_encode")
int enc_encode(encoder *e, unsigned int n) {
  if (n > e->capacity) return -100;
  return lame_encode_buffer_ieee_float(e->gfp, e->pcm[0], e->pcm[1], n, e->out, e->out_size);
}

/* The last frames: the bytes written to enc_out, or < 0. */
EXPORT("enc_flush")
int enc_flush(encoder *e) {
  if (e->out_size < 7200) return -100;
  return lame_encode_flush(e->gfp, e->out, e->out_size);
}

EXPORT("enc_free")
void enc_free(encoder *e) {
  lame_close(e->gfp);
  free(e->pcm[0]);
  free(e->out);
  free(e);
}
