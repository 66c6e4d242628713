# Registry scope used to look up every `type=` in these configs.
default_scope = 'mmpretrain'

# Hooks every run gets.
default_hooks = dict(
    # time each iteration
    timer=dict(type='IterTimerHook'),

    # print a log line every 100 iterations
    logger=dict(type='LoggerHook', interval=100),

    # step the parameter schedulers
    param_scheduler=dict(type='ParamSchedulerHook'),

    # save a checkpoint every epoch
    checkpoint=dict(type='CheckpointHook', interval=1),

    # reseed the sampler in distributed runs
    sampler_seed=dict(type='DistSamplerSeedHook'),

    # prediction visualisation, off by default
    visualization=dict(type='VisualizationHook', enable=False),
)

# Process environment.
env_cfg = dict(
    # no cudnn autotuning
    cudnn_benchmark=False,

    # multiprocessing settings
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),

    # distributed backend
    dist_cfg=dict(backend='nccl'),
)

# Visualiser.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

# Logging level.
log_level = 'INFO'

# Weights to load before training (None: none).
load_from = None

# Resume from the latest checkpoint of the work dir.
resume = False

# Seed (None: drawn at random) and determinism.
randomness = dict(seed=None, deterministic=False)
