"""Tiny random-weight models built from configs (as transformers' own tests do), saved in the Hugging Face
layout: the real loading, pre- and post-processing code runs on them; only the numbers are random."""

from __future__ import annotations

from pathlib import Path


def tiny_depth_model(path: Path, seed: int = 0) -> Path:
    """A ~100 KB Depth Anything (Dinov2 backbone, 32 px input) + DPT image processor saved at `path`."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.manual_seed(seed)
    backbone = Dinov2Config(image_size=32, patch_size=16, hidden_size=8, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=16, out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=8, patch_size=16,
                                 neck_hidden_sizes=[4, 4, 4, 4], fusion_hidden_size=8, head_hidden_size=4)
    DepthAnythingForDepthEstimation(config).save_pretrained(path)
    DPTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return path


CAPTION_WORDS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "red", "chair", "blue", "cat", "wooden",
                 "table", "the", "on", "of", "with", "small", "toy", "lamp")


def tiny_caption_model(path: Path, seed: int = 0) -> Path:
    """A tiny BLIP captioner (ViT 32 px, 2 layers) with a WordPiece tokenizer built here, saved at `path`."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertTokenizerFast, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor
    from transformers.utils import logging

    logging.disable_progress_bar()
    tok = Tokenizer(models.WordPiece(vocab={w: i for i, w in enumerate(CAPTION_WORDS)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", bos_token="[DEC]")
    torch.manual_seed(seed)
    config = BlipConfig(
        vision_config=dict(image_size=32, patch_size=16, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=2),
        text_config=dict(vocab_size=len(CAPTION_WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=48, bos_token_id=5, pad_token_id=0,
                         sep_token_id=3, eos_token_id=3, encoder_hidden_size=16),
        projection_dim=16)
    BlipForConditionalGeneration(config).save_pretrained(path)
    BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), fast).save_pretrained(path)
    return path


def tiny_sam_model(path: Path, seed: int = 0) -> Path:
    """A tiny SAM (ViT 64 px, 2 layers) + SamProcessor saved at `path`: box prompt -> mask."""
    import torch
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.manual_seed(seed)
    config = SamConfig(
        vision_config=dict(hidden_size=16, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=64,
                           patch_size=16, mlp_dim=32, global_attn_indexes=[1], window_size=2, num_pos_feats=8),
        prompt_encoder_config=dict(hidden_size=16, image_size=64, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=16,
                                 iou_head_hidden_dim=8))
    SamModel(config).save_pretrained(path)
    SamProcessor(SamImageProcessor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64},
                                   mask_size={"longest_edge": 16}, mask_pad_size={"height": 16, "width": 16})
                 ).save_pretrained(path)
    return path


def tiny_shap_e_model(path: Path, seed: int = 0) -> Path:
    """A tiny ShapEImg2ImgPipeline (dummy components as in diffusers' own fast tests) saved at `path`. Its
    marching-cubes tables are left empty, as in any checkpoint saved without them: the loader fills them."""
    import torch
    from diffusers import HeunDiscreteScheduler, PriorTransformer, ShapEImg2ImgPipeline
    from diffusers.pipelines.shap_e import ShapERenderer
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(seed)
    encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=16, image_size=32, projection_dim=16, intermediate_size=24,
                                               num_attention_heads=2, num_channels=3, num_hidden_layers=2, patch_size=16))
    processor = CLIPImageProcessor(crop_size=32, do_center_crop=True, do_normalize=True, do_resize=True, resample=3,
                                   size=32, image_mean=[0.48145466, 0.4578275, 0.40821073],
                                   image_std=[0.26862954, 0.26130258, 0.27577711])
    prior = PriorTransformer(num_attention_heads=2, attention_head_dim=16, embedding_dim=16, num_embeddings=32,
                             embedding_proj_dim=16, time_embed_dim=64, num_layers=1, clip_embed_dim=32,
                             additional_embeddings=0, time_embed_act_fn="gelu", norm_in_type="layer",
                             embedding_proj_norm_type="layer", encoder_hid_proj_type=None, added_emb_type=None)
    renderer = ShapERenderer(param_shapes=((8, 93), (8, 8), (8, 8), (8, 8)), d_latent=16, d_hidden=8, n_output=12,
                             background=(0.1, 0.1, 0.1))
    scheduler = HeunDiscreteScheduler(beta_schedule="exp", num_train_timesteps=1024, prediction_type="sample",
                                      use_karras_sigmas=True, clip_sample=True, clip_sample_range=1.0)
    pipe = ShapEImg2ImgPipeline(prior=prior, image_encoder=encoder, image_processor=processor,
                                shap_e_renderer=renderer, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    pipe.save_pretrained(path)
    return path


def tiny_hunyuan3d_config(steps: int = 2, octree_resolution: int = 32) -> dict:
    """A tiny Hunyuan3D-2 shape config in hy3dgen's config.yaml form: DiT hidden 32 (1 double + 1 single
    block), ShapeVAE width 32 with 16 latents, Dinov2 hidden 16 on 28 px inline (no hub access), 64 px input.
    `meshsmith` holds the sampling meshsmith uses with it (few steps, a coarse octree: seconds on a CPU)."""
    dino = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, patch_size=14,
                image_size=28, layerscale_value=1.0)
    return {
        "model": {"target": "hy3dgen.shapegen.models.Hunyuan3DDiT",
                  "params": dict(in_channels=8, context_in_dim=16, hidden_size=32, mlp_ratio=2.0, num_heads=2,
                                 depth=1, depth_single_blocks=1, axes_dim=[16], theta=10000, qkv_bias=True,
                                 guidance_embed=False)},
        "vae": {"target": "hy3dgen.shapegen.models.ShapeVAE",
                "params": dict(num_latents=16, embed_dim=8, width=32, heads=2, num_decoder_layers=1, num_freqs=4,
                               qkv_bias=False, scale_factor=1.0)},
        "conditioner": {"target": "hy3dgen.shapegen.models.SingleImageEncoder",
                        "params": {"main_image_encoder": {"type": "DinoImageEncoder", "kwargs": {
                            "config": dino, "image_size": 28, "use_cls_token": True}}}},
        "scheduler": {"target": "hy3dgen.shapegen.schedulers.FlowMatchEulerDiscreteScheduler",
                      "params": {"num_train_timesteps": 1000}},
        "image_processor": {"target": "hy3dgen.shapegen.preprocessors.ImageProcessorV2",
                            "params": {"size": 64, "border_ratio": 0.15}},
        "meshsmith": {"steps": steps, "octree_resolution": octree_resolution, "guidance_scale": 5.0},
    }


def tiny_hunyuan3d_model(path: Path, seed: int = 0, **sampling) -> Path:
    """A tiny random-weight Hunyuan3D-2 shape model in tencent/Hunyuan3D-2's hunyuan3d-dit-v2-0 layout at
    `path`: config.yaml + model.fp16.safetensors (keys model.* / vae.* / conditioner.*, as hy3dgen reads them)."""
    import torch
    import yaml
    from safetensors.torch import save_file

    from reconstruct.learned.hunyuan import import_hy3dgen

    shapegen = import_hy3dgen()
    config = tiny_hunyuan3d_config(**sampling)
    torch.manual_seed(seed)
    tensors = {}
    for part in ("model", "vae", "conditioner"):
        module = shapegen.pipelines.instantiate_from_config(config[part])
        tensors.update({f"{part}.{k}": v.detach().contiguous().clone() for k, v in module.state_dict().items()})
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    save_file(tensors, str(path / "model.fp16.safetensors"))
    return path
