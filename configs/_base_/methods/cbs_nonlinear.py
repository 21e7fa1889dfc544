# Method: class-balanced sampling with the label mask, VideoLT's nonlinear
# classifier. The sampler belongs to the training loader, which the dataset
# base owns (mmengine forbids two sibling bases defining one key), so each
# row config sets it in its body:
#   train_dataloader = dict(
#       sampler=dict(_delete_=True, type='ClassBalancedSampler',
#                    label_mask=True))
_base_ = ['./bce_nonlinear.py']

# VideoLT's base_main.py with --resample: the loss is summed over classes and
# averaged over the batch (reduction 'none', then mean(sum(loss * mask, 1))),
# clipping at 20 (--gd 20, in the schedule base).
model = dict(cls_head=dict(loss_cls=dict(reduction='batch_sum')))
